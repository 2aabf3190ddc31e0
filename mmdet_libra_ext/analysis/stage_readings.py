"""A stage's readings from what :class:`~.stage_reader.StageReader`
gathered image by image: the sample level (candidate negatives' IoUs,
random against IoU-balanced sampling), the feature level (ground truths per
pyramid level, the anchors' fit) and the objective level (the regression
loss's inlier/outlier split). Each returns a JSON-able dict."""

import math
from typing import Any, Dict, List, Optional

import torch
from torch import Tensor

from . import balance as B
from .box_stats import best_possible_recall, box_wh, generator_shapes


def sample_level(
    neg_ious: List[Tensor],
    neg_thr: float,
    bins: int,
    num_candidates: int,
    num_positives: int,
    quotas: Optional[List[int]] = None,
    balanced_ious: Optional[List[Tensor]] = None,
) -> Dict[str, Any]:
    """The negatives' IoU histogram over ``[0, neg_thr]`` in ``bins`` bins,
    and, for a sampling stage (``quotas``: negatives each image's sampler
    takes; ``balanced_ious``: the IoUs the IoU-balanced sampler took), what
    random and IoU-balanced sampling take and the room between them."""
    edges = torch.linspace(0, neg_thr, bins + 1)
    negs = torch.cat(neg_ious) if neg_ious else torch.zeros(0)
    out: Dict[str, Any] = dict(
        num_candidates=num_candidates,
        num_positives=num_positives,
        num_negatives=int(negs.numel()),
        hard_iou=B.HARD_IOU,
        negatives_hard_share=B.hard_share(negs),
        negatives_zero_share=float((negs == 0).double().mean())
        if negs.numel()
        else math.nan,
        hist_edges=edges.tolist(),
        negatives_hist=B.histogram(negs, edges).tolist(),
    )
    if quotas is None:
        return out
    rnd_hist = B.weighted_histogram(
        neg_ious,
        [min(q, v.numel()) for v, q in zip(neg_ious, quotas)],
        edges,
    )
    bal = torch.cat(balanced_ious) if balanced_ious else torch.zeros(0)
    bal_hist = B.histogram(bal, edges)
    rnd_share = B.random_sample_share(neg_ious, quotas)
    bal_share = B.hard_share(bal)
    out.update(
        quota_negatives=int(sum(quotas)),
        random_hard_share=rnd_share,
        balanced_hard_share=bal_share,
        random_hist=rnd_hist.tolist(),
        balanced_hist=bal_hist.tolist(),
        **B.room_to_balance(rnd_hist, bal_hist, rnd_share, bal_share),
    )
    return out


def feature_level(
    gt_levels: List[Tensor],
    gt_boxes: List[Tensor],
    num_levels: int,
    by_roi_scale: bool,
    generator: Any = None,
    pos_levels: Optional[List[Tensor]] = None,
) -> Dict[str, Any]:
    """Ground truths per level (``by_roi_scale``: the RoI extractor's
    choice; else the level of most of their positive priors), the busiest
    level's share and, for an anchor generator, the anchors' best possible
    recall on the boxes as the detector sees them (shared with
    fit_to_data)."""
    levels = (
        torch.cat(gt_levels) if gt_levels else torch.zeros(0, dtype=torch.long)
    )
    boxes = torch.cat(gt_boxes) if gt_boxes else torch.zeros(0, 4)
    table = B.level_table(levels, boxes, num_levels)
    counts = [r['count'] for r in table]
    out: Dict[str, Any] = dict(
        assigned_by='RoI extractor scale'
        if by_roi_scale
        else 'most positive priors',
        levels=table,
        num_gts=int(levels.numel()),
        unassigned_gts=int((levels < 0).sum()),
        top_level_share=max(counts) / sum(counts) if sum(counts) else math.nan,
    )
    if hasattr(generator, 'base_anchors') and len(boxes):
        out['anchor_fit'] = dict(
            thr=0.5,
            **best_possible_recall(
                box_wh(boxes), generator_shapes(generator), 0.5
            ),
        )
    if pos_levels:
        out['positive_priors'] = torch.bincount(
            torch.cat(pos_levels), minlength=num_levels
        ).tolist()
    return out


def objective_level(
    loss: Any,
    loss_type: Optional[str],
    pred: Tensor,
    target: Tensor,
    reg_decoded: bool,
) -> Dict[str, Any]:
    """The inliers' share of the regression gradient under the stage's
    ``loss`` and, for encoded targets, under the paper's Balanced L1
    (alpha 0.5, gamma 1.5), the outliers being those whose loss under the
    config's loss is at least :data:`~.balance.OUTLIER_LOSS`."""
    from mmdet.registry import MODELS

    own = B.loss_gradients(loss, pred, target)
    mask = own['loss'] >= B.OUTLIER_LOSS
    out: Dict[str, Any] = dict(
        positives=len(pred),
        errors='decoded priors against their boxes'
        if reg_decoded
        else 'targets at initialisation (predictions 0)',
        config_loss=dict(
            type=loss_type, **B.inlier_split(own['loss'], own['grad'])
        ),
    )
    if not reg_decoded:
        bl1 = MODELS.build(
            dict(
                type='mmdet_libra_ext.BalancedL1Loss',
                alpha=0.5,
                gamma=1.5,
                beta=1.0,
                loss_weight=1.0,
            )
        )
        g = B.loss_gradients(bl1, pred, target)
        if mask.dim() < g['grad'].dim():
            mask = mask[:, None].expand_as(g['grad'])
        out['balanced_l1'] = dict(
            type='BalancedL1Loss(alpha=0.5, gamma=1.5)',
            **B.inlier_split(g['loss'], g['grad'], mask),
        )
    return out
