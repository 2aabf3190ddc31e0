"""Test-time augmentation merged by weighted boxes fusion (Solovyev et al.,
"Weighted boxes fusion: ensembling boxes from different object detection
models", 2021).

MMDetection's ``DetTTAModel`` concatenates the boxes of every view (flips,
scales) and keeps the highest-scoring box of each overlapping group by NMS:
a box that one view alone finds keeps its full score, and the kept box is
one view's, not their consensus. Weighted boxes fusion averages instead:
the boxes of all views that overlap (IoU above ``iou_thr``, same class) are
fused into one box, their coordinates weighted by score, and the fused
score is the sum of the scores divided by the number of views, so a box
found by one view of four keeps a quarter of its score.

:func:`weighted_boxes_fusion` is the fusion of the paper's reference code
(MMDetection 3.3 ships a copy as ``mmdet.models.utils.weighted_boxes_fusion``,
for result files in coordinates normalised to [0, 1]): same greedy
clustering in descending score order, same fused boxes and scores, for
boxes in pixels, with the cluster sums kept incrementally.
:class:`WBFTTAModel` is ``DetTTAModel`` with that fusion in place of NMS.
"""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmdet.models.test_time_augs import DetTTAModel
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet_libra_ext.registry import MODELS
from mmdet_libra_ext.utils.checks import check_one_of

CONF_TYPES = ('avg', 'max')


def _check_fusion_args(
    iou_thr: Any, skip_box_thr: Any, conf_type: Any
) -> None:
    for name, value in (('iou_thr', iou_thr), ('skip_box_thr', skip_box_thr)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0.0 <= value < 1.0
        ):
            raise ValueError(
                f'{name} must be a number in [0, 1), got {value!r}'
            )
    check_one_of(conf_type, CONF_TYPES, 'conf_type')


def _fuse_class(
    boxes: np.ndarray,
    scores: np.ndarray,
    num_views: int,
    iou_thr: float,
    conf_type: str,
) -> Tuple[np.ndarray, np.ndarray]:
    """Weighted boxes fusion of one class's boxes (float64, any order)."""
    order = np.argsort(-scores, kind='stable')
    boxes, scores = boxes[order], scores[order]
    # Per cluster: sum of score * box, sum of scores, max score, count; the
    # fused box (sum of score * box / sum of scores) is what later boxes
    # are matched against.
    weighted = np.empty((len(boxes), 4))
    score_sum = np.empty(len(boxes))
    score_max = np.empty(len(boxes))
    count = np.empty(len(boxes))
    fused = np.empty((len(boxes), 4))
    area = np.empty(len(boxes))
    n = 0
    for box, score in zip(boxes, scores):
        if n:
            lt = np.maximum(fused[:n, :2], box[:2])
            rb = np.minimum(fused[:n, 2:], box[2:])
            wh = np.clip(rb - lt, 0.0, None)
            inter = wh[:, 0] * wh[:, 1]
            own = (box[2] - box[0]) * (box[3] - box[1])
            iou = inter / (area[:n] + own - inter)
            best = int(np.argmax(iou))
            if iou[best] > iou_thr:
                weighted[best] += score * box
                score_sum[best] += score
                count[best] += 1
                fused[best] = weighted[best] / score_sum[best]
                b = fused[best]
                area[best] = (b[2] - b[0]) * (b[3] - b[1])
                continue
        weighted[n] = score * box
        score_sum[n] = score_max[n] = score
        count[n] = 1
        fused[n] = box
        area[n] = (box[2] - box[0]) * (box[3] - box[1])
        n += 1
    if conf_type == 'max':
        fused_scores = score_max[:n]
    else:
        # The mean score, times the share of views that found the object
        # (at most 1: a view may add several boxes to one cluster).
        counts = count[:n]
        fused_scores = (
            score_sum[:n] / counts * np.minimum(counts, num_views) / num_views
        )
    return fused[:n], fused_scores


def weighted_boxes_fusion(
    bboxes: Tensor,
    scores: Tensor,
    labels: Tensor,
    num_views: int,
    iou_thr: float = 0.55,
    skip_box_thr: float = 0.0,
    conf_type: str = 'avg',
) -> Tuple[Tensor, Tensor, Tensor]:
    """Fuse the boxes of ``num_views`` predictions of one image.

    Per class, in descending score order, each box joins the fused box it
    overlaps most if that IoU exceeds ``iou_thr``, or starts a new one. A
    fused box is the score-weighted mean of its boxes. Its score
    (``conf_type='avg'``) is the sum of its scores divided by
    ``num_views`` (the mean, if it holds more boxes than there are views),
    or (``'max'``) the highest of them.

    Args:
        bboxes (Tensor): ``(n, 4)`` boxes ``x1, y1, x2, y2`` of all views,
            in one coordinate frame (the original image's).
        scores (Tensor): ``(n,)`` scores.
        labels (Tensor): ``(n,)`` class indices.
        num_views (int): How many predictions the boxes come from.
        iou_thr (float): IoU above which a box joins a fused box.
        skip_box_thr (float): Boxes scoring below it are left out.
        conf_type (str): ``'avg'`` or ``'max'``.

    Returns:
        tuple[Tensor]: Fused boxes ``(m, 4)``, scores ``(m,)`` and labels
        ``(m,)``, highest score first, on the input's device and dtype.
        Boxes of zero area are left out, as in the reference, and so are
        boxes with inverted corners (which the reference swaps; a
        detector's predictions have none).
    """
    _check_fusion_args(iou_thr, skip_box_thr, conf_type)
    if num_views < 1:
        raise ValueError(f'num_views must be >= 1, got {num_views!r}')
    if bboxes.dim() != 2 or bboxes.size(-1) != 4:
        raise ValueError(
            f'bboxes must have shape (n, 4), got {tuple(bboxes.shape)}'
        )
    if not len(bboxes) == len(scores) == len(labels):
        raise ValueError(
            f'bboxes, scores and labels differ in length: {len(bboxes)}, '
            f'{len(scores)}, {len(labels)}'
        )
    b = bboxes.detach().cpu().double().numpy()
    s = scores.detach().cpu().double().numpy()
    lab = labels.detach().cpu().numpy()
    keep = (s >= skip_box_thr) & (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
    b, s, lab = b[keep], s[keep], lab[keep]
    out_b, out_s, out_l = [], [], []
    for c in np.unique(lab):
        m = lab == c
        fb, fs = _fuse_class(b[m], s[m], num_views, iou_thr, conf_type)
        out_b.append(fb)
        out_s.append(fs)
        out_l.append(np.full(len(fs), c))
    if not out_s:
        return bboxes.new_zeros((0, 4)), scores.new_zeros(0), labels[:0]
    fs_all = np.concatenate(out_s)
    order = np.argsort(-fs_all, kind='stable')
    return (
        torch.as_tensor(np.concatenate(out_b)[order]).to(bboxes),
        torch.as_tensor(fs_all[order]).to(scores),
        torch.as_tensor(np.concatenate(out_l)[order]).to(labels),
    )


@MODELS.register_module()
class WBFTTAModel(DetTTAModel):
    """``DetTTAModel`` merging the views by weighted boxes fusion.

    Used as MMDetection's TTA models are: the config's ``tta_model`` (this
    type) and ``tta_pipeline`` (``TestTimeAug`` with the views, their
    ``PackDetInputs`` keeping ``flip`` and ``flip_direction``), then
    ``tools/test.py CONFIG CHECKPOINT --tta``. Each view's boxes are flipped
    back to the original image (horizontal, vertical and diagonal flips) and
    fused by :func:`weighted_boxes_fusion`.

    Args:
        tta_cfg (dict): ``iou_thr`` (default 0.55, the paper's), ``conf_type``
            (``'avg'``, default, or ``'max'``), ``skip_box_thr`` (default
            0.0) and ``max_per_img`` (default 100), the number of fused
            boxes kept per image.
        **kwargs: ``DetTTAModel``'s (``module``, ``data_preprocessor``).
    """

    def __init__(self, tta_cfg: Optional[dict] = None, **kwargs: Any) -> None:
        cfg: Dict[str, Any] = dict(
            iou_thr=0.55, conf_type='avg', skip_box_thr=0.0, max_per_img=100
        )
        unknown = set(tta_cfg or {}) - set(cfg)
        if unknown:
            raise ValueError(
                f'WBFTTAModel tta_cfg takes {sorted(cfg)}, got unknown '
                f'{sorted(unknown)}'
            )
        cfg.update(tta_cfg or {})
        _check_fusion_args(
            cfg['iou_thr'], cfg['skip_box_thr'], cfg['conf_type']
        )
        max_per_img = cfg['max_per_img']
        if (
            not isinstance(max_per_img, int)
            or isinstance(max_per_img, bool)
            or max_per_img < 1
        ):
            raise ValueError(
                f'max_per_img must be a positive int, got {max_per_img!r}'
            )
        super().__init__(tta_cfg=cfg, **kwargs)

    def _merge_single_sample(
        self, data_samples: List[DetDataSample]
    ) -> DetDataSample:
        """Fuse the predictions of one image's views into one."""
        assert data_samples[0].pred_instances.get('masks', None) is None, (
            'WBFTTAModel merges boxes only (no instance masks)'
        )
        bboxes, scores = self.merge_aug_bboxes(
            [s.pred_instances.bboxes for s in data_samples],
            [s.pred_instances.scores for s in data_samples],
            [s.metainfo for s in data_samples],
        )
        labels = torch.cat([s.pred_instances.labels for s in data_samples])
        cfg = self.tta_cfg
        bboxes, scores, labels = weighted_boxes_fusion(
            bboxes,
            scores,
            labels,
            num_views=len(data_samples),
            iou_thr=cfg['iou_thr'],
            skip_box_thr=cfg['skip_box_thr'],
            conf_type=cfg['conf_type'],
        )
        results = InstanceData()
        results.bboxes = bboxes[: cfg['max_per_img']]
        results.scores = scores[: cfg['max_per_img']]
        results.labels = labels[: cfg['max_per_img']]
        merged = data_samples[0]
        merged.pred_instances = results
        return merged
