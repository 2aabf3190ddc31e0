import torch
from mmdet.models.task_modules.assigners import AssignResult


def make_assign(
    num_neg=2000, num_pos=100, num_gts=5, zero_frac=0.5, max_iou=0.95, seed=0
):
    """An AssignResult: negatives with IoU in [0, 0.5) (zero_frac of them at
    exactly 0), positives with IoU in [0.5, max_iou] spread over gts."""
    g = torch.Generator().manual_seed(seed)
    n = num_neg + num_pos
    iou = torch.zeros(n)
    n_zero = int(num_neg * zero_frac)
    iou[n_zero:num_neg] = torch.rand(num_neg - n_zero, generator=g) * 0.5
    iou[num_neg:] = 0.5 + torch.rand(num_pos, generator=g) * (max_iou - 0.5)
    if num_pos:
        iou[-1] = max_iou
    gt_inds = torch.zeros(n, dtype=torch.long)
    if num_pos:
        gt_inds[num_neg:] = torch.randint(
            1, num_gts + 1, (num_pos,), generator=g
        )
    perm = torch.randperm(n, generator=g)
    return AssignResult(
        num_gts,
        gt_inds[perm],
        iou[perm],
        labels=torch.zeros(n, dtype=torch.long),
    )


def tiny_assign(neg_ious, pos_ious=(), pos_gts=()):
    """An AssignResult listing the given negatives' IoUs, then positives
    with the given IoUs and gt indices (1-based)."""
    n_neg, n_pos = len(neg_ious), len(pos_ious)
    iou = torch.tensor(list(neg_ious) + list(pos_ious), dtype=torch.float32)
    gt_inds = torch.tensor([0] * n_neg + list(pos_gts), dtype=torch.long)
    num_gts = max(pos_gts) if n_pos else 0
    return AssignResult(
        num_gts,
        gt_inds,
        iou,
        labels=torch.zeros(n_neg + n_pos, dtype=torch.long),
    )


def subset_pvalue(draw_a, draw_b, trials):
    """p-value of a chi-square homogeneity test between the distributions
    of whole samples (as sets of indices) that two samplers draw.

    Equal per-index frequencies do not make two samplers equal: this
    compares the joint distribution, every subset being one category.
    ``draw_a``/``draw_b`` are called ``trials`` times each and return index
    tensors (or arrays).
    """
    from collections import Counter

    from scipy.stats import chi2_contingency

    def counts(draw):
        return Counter(
            tuple(sorted(int(i) for i in torch.as_tensor(draw()).view(-1)))
            for _ in range(trials)
        )

    a, b = counts(draw_a), counts(draw_b)
    keys = sorted(set(a) | set(b))
    if len(keys) == 1:
        return 1.0
    table = [[a[k] for k in keys], [b[k] for k in keys]]
    return float(chi2_contingency(table)[1])
