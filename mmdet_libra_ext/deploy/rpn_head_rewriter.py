"""An mmdeploy rewriter for MMDetection's ``RPNHead.predict_by_feat`` that
keeps MMDetection's proposal post-processing in the exported graph.

mmdeploy 1.3.1's own rewriter differs from MMDetection in two ways that
cost box mAP once the detector is deployed (docs/deploy.md):

- it suppresses proposals of all FPN levels together, where MMDetection
  suppresses within each level (``batched_nms`` over level ids), so a
  large box of one level removes overlapping boxes of the others;
- it drops proposals below the deploy config's ``score_threshold`` (the
  last stage's, e.g. the RoI head's 0.05), where MMDetection keeps every
  proposal.

For ONNX Runtime this rewriter does what MMDetection does: per level the
``nms_pre`` best anchors, decoded and clipped; boxes no wider or higher
than ``min_bbox_size`` removed; NMS within each level (boxes of level ``l``
shifted by ``l`` times the largest coordinate plus one, the offset trick of
``batched_nms``, then one ONNX ``NonMaxSuppression``); the ``max_per_img``
best kept. Removed boxes, and the zero-score padding that lets ``TopK``
run on levels with fewer than ``nms_pre`` anchors (dynamic shapes), get
score 0 and the NMS a score threshold of ``1e-6``: the one difference from
MMDetection, which keeps proposals scoring below that (sigmoid scores
practically never do). Other backends keep mmdeploy's rewriter.
"""

from typing import Any, List, Optional

import torch
from mmdeploy.codebase.mmdet.deploy import (
    gather_topk,
    get_post_processing_params,
    pad_with_value_if_necessary,
)
from mmdeploy.core import FUNCTION_REWRITER
from mmdeploy.mmcv.ops.nms import ONNXNMSop
from torch import Tensor

from .nms import MAX_CANDIDATES, top_k_selected

#: NMS score threshold that keeps every proposal a sigmoid can score and
#: drops the boxes removed by ``min_bbox_size`` (score 0).
KEEP_ALL_SCORES = 1e-6


@FUNCTION_REWRITER.register_rewriter(
    func_name='mmdet.models.dense_heads.rpn_head.RPNHead.predict_by_feat',
    backend='onnxruntime',
)
def rpn_head__predict_by_feat__per_level_nms(
    self: Any,
    cls_scores: List[Tensor],
    bbox_preds: List[Tensor],
    score_factors: Optional[List[Tensor]] = None,
    batch_img_metas: Optional[List[dict]] = None,
    cfg: Any = None,
    rescale: bool = False,
    with_nms: bool = True,
    **kwargs: Any,
) -> Any:
    """Proposals as MMDetection's ``RPNHead`` makes them, exportable."""
    ctx = FUNCTION_REWRITER.get_context()
    assert batch_img_metas is not None
    cfg = self.test_cfg if cfg is None else cfg
    nms_pre = int(cfg.get('nms_pre', -1))
    min_size = float(cfg.get('min_bbox_size', -1))
    batch = cls_scores[0].shape[0]
    sizes = [c.shape[-2:] for c in cls_scores]
    anchors = self.anchor_generator.grid_anchors(
        sizes, device=cls_scores[0].device
    )
    boxes, scores, levels = [], [], []
    for level, (cls, reg, prior) in enumerate(
        zip(cls_scores, bbox_preds, anchors)
    ):
        cls = cls.permute(0, 2, 3, 1)
        if self.use_sigmoid_cls:
            score = cls.reshape(batch, -1).sigmoid()
        else:  # foreground is class 0 of the two
            score = cls.reshape(batch, -1, 2).softmax(-1)[..., 0]
        delta = reg.permute(0, 2, 3, 1).reshape(
            batch, -1, self.bbox_coder.encode_size
        )
        prior = prior.unsqueeze(0)
        if nms_pre > 0:
            # Padded with score 0 to at least nms_pre (TopK needs k <= n);
            # the padding is dropped by the NMS score threshold.
            score = pad_with_value_if_necessary(
                score.unsqueeze(-1), 1, nms_pre, 0.0
            ).squeeze(-1)
            delta = pad_with_value_if_necessary(delta, 1, nms_pre)
            prior = pad_with_value_if_necessary(prior, 1, nms_pre)
            score, keep = score.topk(nms_pre, dim=1)
            delta = gather_topk(
                delta, inds=keep, batch_size=batch, is_batched=True
            )
            prior = gather_topk(
                prior, inds=keep, batch_size=batch, is_batched=False
            )
        boxes.append(
            self.bbox_coder.decode(
                prior, delta, max_shape=batch_img_metas[0]['img_shape']
            )
        )
        scores.append(score)
        levels.append(score.new_full(score.shape[1:], float(level)))
    box = torch.cat(boxes, 1)
    score = torch.cat(scores, 1)
    if min_size >= 0:
        w = box[..., 2] - box[..., 0]
        h = box[..., 3] - box[..., 1]
        score = score * ((w > min_size) & (h > min_size)).to(score.dtype)
    if not with_nms:
        return box, score.unsqueeze(-1)
    offsets = torch.cat(levels).view(1, -1, 1) * (box.max() + 1)
    post = get_post_processing_params(ctx.cfg)
    iou = float(cfg.nms.get('iou_threshold', post.iou_threshold))
    selected = ONNXNMSop.apply(
        box + offsets,
        score.unsqueeze(1),
        MAX_CANDIDATES,
        torch.tensor([iou]),
        torch.tensor([KEEP_ALL_SCORES]),
    )
    return top_k_selected(
        score.unsqueeze(1),
        box,
        selected,
        batch,
        int(cfg.get('max_per_img', 1000)),
    )
