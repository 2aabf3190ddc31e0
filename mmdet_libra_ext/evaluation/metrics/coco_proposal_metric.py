"""Proposal recall (AR@N) of MMDetection's ``CocoMetric``, with numpy >= 1.24.

MMDetection 3.3 evaluates RPN configs with ``CocoMetric(metric=
'proposal_fast')``, whose ``eval_recalls`` stacks the per-image IoU
matrices with ``np.array``. Their shapes differ from image to image, which
numpy >= 1.24 refuses ("inhomogeneous shape"), so every RPN evaluation of
MMDetection fails on the pinned toolchain. :class:`CocoProposalMetric` is
``CocoMetric`` with that one computation replaced by
:func:`proposal_recalls` (the same greedy matching and averages, without the
stacking), each image's ground truths found by its ``img_id`` (so that a
subset of ``ann_file``'s images can be evaluated); everything else (ground
truths from ``ann_file`` or the data samples, ignored and crowd boxes,
prefix ``coco/``, keys ``AR@N``) is MMDetection's.
"""

from typing import Any, List, Optional, Sequence

import numpy as np
from mmdet.evaluation import CocoMetric
from mmdet.evaluation.functional import bbox_overlaps

from mmdet_libra_ext.registry import METRICS
from mmdet_libra_ext.utils.compat import coco_api


def _greedy_matched_ious(ious: np.ndarray) -> np.ndarray:
    """IoU of each ground truth (rows) under greedy one-to-one matching to
    proposals (columns): repeatedly the pair of highest IoU (the first in
    row-major order on ties) is matched and both are removed; a ground truth
    left without a proposal gets -1."""
    ious = ious.copy()
    out = np.zeros(ious.shape[0])
    if ious.size == 0:
        return out
    for j in range(ious.shape[0]):
        flat = int(ious.argmax())
        gt, box = divmod(flat, ious.shape[1])
        out[j] = ious[gt, box]
        ious[gt, :] = -1
        ious[:, box] = -1
    return out


def proposal_recalls(
    gts: Sequence[np.ndarray],
    proposals: Sequence[np.ndarray],
    proposal_nums: Sequence[int] = (100, 300, 1000),
    iou_thrs: Optional[Sequence[float]] = None,
) -> np.ndarray:
    """Recall of the first ``N`` proposals of every image, for every ``N``
    in ``proposal_nums`` (rows) and IoU threshold (columns).

    Each image's ground truths are matched one to one to its first ``N``
    proposals, greedily by IoU (MMDetection's ``eval_recalls``); the recall
    at a threshold is the share of all ground truths whose matched IoU
    reaches it. ``gts[i]`` is ``(G_i, 4)``, ``proposals[i]`` ``(P_i, 4)``
    or ``(P_i, 5)`` (a fifth column, the score, orders the proposals)
    in ``x1, y1, x2, y2``.

    Returns:
        np.ndarray: ``(len(proposal_nums), len(iou_thrs))`` recalls.
    """
    if len(gts) != len(proposals):
        raise ValueError(
            f'{len(gts)} images of ground truths but '
            f'{len(proposals)} of proposals'
        )
    nums = np.atleast_1d(np.asarray(proposal_nums, dtype=np.int64))
    thrs = np.atleast_1d(
        np.asarray([0.5] if iou_thrs is None else iou_thrs, dtype=np.float64)
    )
    if nums.size == 0 or (nums < 1).any():
        raise ValueError(
            f'proposal_nums must be positive, got {proposal_nums!r}'
        )
    per_num: List[List[np.ndarray]] = [[] for _ in nums]
    for gt, props in zip(gts, proposals):
        gt = np.asarray(gt, dtype=np.float32).reshape(-1, 4)
        props = np.asarray(props, dtype=np.float32)
        props = props.reshape(-1, props.shape[-1] if props.ndim == 2 else 4)
        if props.shape[1] == 5:
            props = props[np.argsort(props[:, 4], kind='stable')[::-1]]
        props = props[: int(nums.max()), :4]
        ious = (
            bbox_overlaps(gt, props)
            if len(gt) and len(props)
            else np.zeros((len(gt), len(props)), dtype=np.float32)
        )
        for k, num in enumerate(nums):
            per_num[k].append(_greedy_matched_ious(ious[:, :num]))
    total = sum(len(np.asarray(g).reshape(-1, 4)) for g in gts)
    if total == 0:
        raise ValueError('no ground-truth boxes: proposal recall is undefined')
    matched = np.stack([np.concatenate(m) for m in per_num])
    return (matched[:, :, None] >= thrs[None, None, :]).sum(1) / total


@METRICS.register_module()
class CocoProposalMetric(CocoMetric):
    """MMDetection's ``CocoMetric`` whose ``'proposal_fast'`` recall runs
    with numpy >= 1.24 (see the module docstring); a drop-in type for
    MMDetection's RPN configs, with the same arguments and results
    (``coco/AR@100``...). The other metrics are MMDetection's, unchanged."""

    def fast_eval_recall(
        self,
        results: List[dict],
        proposal_nums: Sequence[int],
        iou_thrs: Sequence[float],
        logger: Any = None,
    ) -> np.ndarray:
        """AR@N per ``proposal_nums`` (recall averaged over ``iou_thrs``)."""
        # The ground truths of the evaluated images, by their ids (MMDetection
        # pairs all of ann_file's images with the results by position, which
        # fails on a subset and mismatches if the order differs).
        gts = []
        for img_id in (r['img_id'] for r in results):
            api = coco_api(self)
            anns = api.load_anns(api.get_ann_ids(img_ids=img_id))
            boxes = [
                [x, y, x + w, y + h]
                for x, y, w, h in (
                    a['bbox']
                    for a in anns
                    if not a.get('ignore', False) and not a['iscrowd']
                )
            ]
            gts.append(np.array(boxes, dtype=np.float32).reshape(-1, 4))
        return proposal_recalls(
            gts, [r['bboxes'] for r in results], proposal_nums, iou_thrs
        ).mean(axis=1)
