"""The balance statistics of a detector's training samples, as plain
functions of tensors: shared by the balance report
(``tools/analysis_tools/balance_report.py``) and
:class:`~mmdet_libra_ext.engine.hooks.BalanceMonitorHook`.

The levels follow the Libra R-CNN paper's three imbalances (sample, feature,
objective) and ALWA's task balance; the class level is the one neither
method addresses.

- *Sample level*: the IoU of each candidate negative with its best ground
  truth. Random sampling takes, in expectation, the candidates' own IoU
  distribution; IoU-balanced sampling spreads its quota over IoU bins.
  :func:`room_to_balance` is how far the second moves from the first.
- *Feature level*: which pyramid level each ground truth is learnt on.
- *Objective level*: the paper's inlier/outlier split of the regression
  loss (an element whose loss is at least 1.0 is an outlier) and the share
  of the gradient the inliers receive.
"""

import math
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import Tensor

#: The Libra R-CNN paper's hard negative: IoU above 0.05 with a ground truth.
HARD_IOU = 0.05
#: The paper's outlier: an element whose regression loss is at least 1.0.
OUTLIER_LOSS = 1.0


def hard_share(ious: Tensor, thr: float = HARD_IOU) -> float:
    """Share of ``ious`` above ``thr`` (NaN for none)."""
    if ious.numel() == 0:
        return math.nan
    return float((ious > thr).double().mean())


def random_sample_share(
    neg_ious: Sequence[Tensor], quotas: Sequence[int], thr: float = HARD_IOU
) -> float:
    """Expected share above ``thr`` among the negatives a random sampler
    takes: image ``i`` gives ``min(quota_i, len(neg_ious[i]))`` negatives
    drawn uniformly without replacement, so each is above ``thr`` with the
    image's own share; the images weigh by what they give."""
    taken = [min(int(q), v.numel()) for v, q in zip(neg_ious, quotas)]
    total = sum(taken)
    if total == 0:
        return math.nan
    return (
        sum(n * hard_share(v, thr) for v, n in zip(neg_ious, taken) if n)
        / total
    )


def histogram(values: Tensor, edges: Tensor) -> Tensor:
    """Share of ``values`` in each bin ``[edges[k], edges[k+1])`` (the last
    bin closed), float64, summing to 1 (zeros for no values)."""
    edges = edges.double()
    v = values.double().clamp(edges[0], edges[-1])
    idx = torch.bucketize(v, edges[1:-1], right=True)
    counts = torch.bincount(idx, minlength=len(edges) - 1).double()
    return counts / counts.sum().clamp(min=1)


def weighted_histogram(
    groups: Sequence[Tensor], weights: Sequence[float], edges: Tensor
) -> Tensor:
    """The mixture of the groups' histograms, group ``i`` weighing
    ``weights[i]`` (normalised to sum 1)."""
    total = float(sum(weights))
    out = torch.zeros(len(edges) - 1, dtype=torch.float64)
    if total <= 0:
        return out
    for v, w in zip(groups, weights):
        if w:
            out += histogram(v, edges) * (w / total)
    return out


def total_variation(p: Tensor, q: Tensor) -> float:
    """Total variation distance of two histograms: half the L1 distance, 0
    for equal distributions, 1 for disjoint ones."""
    return float((p.double() - q.double()).abs().sum() / 2)


def room_to_balance(
    random_hist: Tensor,
    balanced_hist: Tensor,
    random_hard: float,
    balanced_hard: float,
) -> Dict[str, float]:
    """How much IoU-balanced sampling changes what random sampling takes:
    the total variation distance of the two sampled IoU distributions and
    the change of the hard share (points of share, not a ratio)."""
    return dict(
        tv_distance=total_variation(random_hist, balanced_hist),
        hard_share_gain=balanced_hard - random_hard,
    )


def roi_levels(
    boxes: Tensor, num_levels: int, finest_scale: float = 56.0
) -> Tensor:
    """The pyramid level an RoI extractor reads each box from
    (MMDetection's ``SingleRoIExtractor.map_roi_levels``, the FPN paper's
    k = floor(log2(sqrt(wh) / finest_scale)) + k0, clamped)."""
    scale = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sqrt()
    level = torch.floor(torch.log2(scale / finest_scale + 1e-6))
    return level.clamp(min=0, max=num_levels - 1).long()


def gt_levels_from_priors(
    pos_gt: Tensor, pos_levels: Tensor, num_gts: int, num_levels: int
) -> Tensor:
    """Each ground truth's level: the level holding most of its positive
    priors (ties to the finer level), -1 for a ground truth no prior was
    assigned to. ``pos_gt`` are the 0-based ground-truth indices of the
    positive priors, ``pos_levels`` their levels."""
    counts = torch.zeros(num_gts, num_levels, dtype=torch.long)
    if pos_gt.numel():
        counts.index_put_(
            (pos_gt.long(), pos_levels.long()),
            torch.ones_like(pos_gt, dtype=torch.long),
            accumulate=True,
        )
    best = counts.argmax(1)
    best[counts.sum(1) == 0] = -1
    return best


def level_table(
    levels: Tensor, boxes: Tensor, num_levels: int
) -> List[Dict[str, float]]:
    """Per level: how many ground truths it learns and their median size
    (square root of the area, pixels; NaN where none). A level of -1 (no
    prior assigned) is left out."""
    size = (
        ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        .clamp(min=0)
        .sqrt()
    )
    rows = []
    for lvl in range(num_levels):
        mask = levels == lvl
        rows.append(
            dict(
                count=int(mask.sum()),
                median_size=float(size[mask].median())
                if mask.any()
                else math.nan,
            )
        )
    return rows


def loss_gradients(
    loss: Callable[..., Tensor], pred: Tensor, target: Tensor
) -> Dict[str, Tensor]:
    """Per-element loss and gradient magnitude of ``loss(pred, target,
    reduction_override='none')`` with respect to ``pred``.

    An elementwise loss (L1, smooth L1, Balanced L1) gives one value per
    coordinate; a loss per box (the IoU family) one per box, whose gradient
    magnitude is the L2 norm over its coordinates.
    """
    with torch.enable_grad():
        p = pred.detach().double().requires_grad_(True)
        values = loss(p, target.detach().double(), reduction_override='none')
        (grad,) = torch.autograd.grad(values.sum(), p)
    if values.dim() == pred.dim():
        mag = grad.abs()
    else:
        mag = grad.norm(dim=-1)
    return dict(loss=values.detach(), grad=mag)


def inlier_split(
    loss_values: Tensor, grad: Tensor, outlier_mask: Optional[Tensor] = None
) -> Dict[str, float]:
    """The Libra paper's objective-level reading: the share of elements that
    are outliers (loss at least :data:`OUTLIER_LOSS`, unless
    ``outlier_mask`` fixes them), the inliers' share of the summed gradient
    and the inliers' mean gradient over the outliers' (the paper's "about
    30%" under smooth L1)."""
    out = loss_values >= OUTLIER_LOSS if outlier_mask is None else outlier_mask
    n = out.numel()
    if n == 0:
        return dict(
            outlier_share=math.nan,
            inlier_grad_share=math.nan,
            inlier_outlier_grad_ratio=math.nan,
        )
    total = float(grad.sum())
    inl = grad[~out]
    outl = grad[out]
    ratio = (
        float(inl.mean() / outl.mean())
        if inl.numel() and outl.numel() and float(outl.mean()) > 0
        else math.nan
    )
    return dict(
        outlier_share=float(out.double().mean()),
        inlier_grad_share=float(inl.sum()) / total if total > 0 else math.nan,
        inlier_outlier_grad_ratio=ratio,
    )


def class_counts(
    labels_per_image: Sequence[Sequence[int]], num_classes: int
) -> Dict[str, List[int]]:
    """Instances per class and images holding each class."""
    inst = [0] * num_classes
    imgs = [0] * num_classes
    for labels in labels_per_image:
        for c in labels:
            inst[c] += 1
        for c in set(labels):
            imgs[c] += 1
    return dict(instances=inst, images=imgs)


def imbalance_ratio(counts: Sequence[int]) -> float:
    """Most frequent class over least frequent (inf when a class has none,
    NaN without classes or instances)."""
    if not counts or max(counts) == 0:
        return math.nan
    low = min(counts)
    return math.inf if low == 0 else max(counts) / low
