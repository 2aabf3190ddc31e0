"""An mmdeploy rewriter for MMDetection's ``BBoxHead.predict_by_feat`` that
keeps MMDetection's detection post-processing in the exported graph.

mmdeploy 1.3.1's own rewriter, for a head with one regressed box per class
(``reg_class_agnostic=False``, MMDetection's default), keeps for every RoI
only the box of its best-scoring class and uses that box for every class's
NMS. MMDetection gives each class its own regressed box. Wherever a RoI
scores above the threshold in a second class (overlapping or ambiguous
objects), the deployed detector then reports that class at the wrong box
(docs/deploy.md: most of the deployed model's lost box mAP).

For ONNX Runtime this rewriter does what MMDetection's ``multiclass_nms``
does: every (RoI, class) pair is a candidate with its own box and score;
candidates at or below ``score_thr`` are dropped; NMS within each class;
the ``max_per_img`` best kept. Other backends keep mmdeploy's rewriter.
"""

from typing import Any, List, Optional

import torch
import torch.nn.functional as F
from mmdeploy.core import FUNCTION_REWRITER
from mmdeploy.mmcv.ops.nms import ONNXNMSop
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from .nms import MAX_CANDIDATES, top_k_selected


@FUNCTION_REWRITER.register_rewriter(
    func_name='mmdet.models.roi_heads.bbox_heads.bbox_head.BBoxHead.'
    'predict_by_feat',
    backend='onnxruntime',
)
def bbox_head__predict_by_feat__per_class_boxes(
    self: Any,
    rois: Tensor,
    cls_scores: Tensor,
    bbox_preds: Tensor,
    batch_img_metas: List[dict],
    rcnn_test_cfg: Optional[Any] = None,
    rescale: bool = False,
) -> Any:
    """Detections as MMDetection's ``BBoxHead`` makes them, exportable."""
    assert rois.ndim == 3, 'exports two-stage models with a batch dimension'
    assert rcnn_test_cfg is not None
    batch, num = rois.shape[0], rois.shape[1]
    classes = self.num_classes
    if self.custom_cls_channels:
        scores = self.loss_cls.get_activation(cls_scores)
    else:
        scores = F.softmax(cls_scores, dim=-1)
    scores = scores.reshape(batch, num, -1)[..., :classes]
    boxes = get_box_tensor(
        self.bbox_coder.decode(
            rois[..., 1:],
            bbox_preds,
            max_shape=batch_img_metas[0]['img_shape'],
        )
    )
    size = self.bbox_coder.encode_size
    if self.reg_class_agnostic:
        boxes = boxes.reshape(batch, num, 1, size).expand(-1, -1, classes, -1)
    boxes = boxes.reshape(batch, num * classes, size)
    # Candidate (RoI n, class c) is column n * C + c; class c's NMS sees
    # only its own candidates (the others score 0, below the threshold).
    own = torch.eye(classes, dtype=scores.dtype).repeat(1, num)
    per_class = scores.reshape(batch, 1, num * classes) * own.unsqueeze(0)
    score_thr = float(rcnn_test_cfg.get('score_thr', 0.05))
    selected = ONNXNMSop.apply(
        boxes,
        per_class,
        MAX_CANDIDATES,
        torch.tensor([float(rcnn_test_cfg.nms.get('iou_threshold', 0.5))]),
        torch.tensor([score_thr]),
    )
    return top_k_selected(
        per_class,
        boxes,
        selected,
        batch,
        int(rcnn_test_cfg.get('max_per_img', 100)),
    )
