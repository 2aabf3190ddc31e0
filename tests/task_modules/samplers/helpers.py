import torch
from mmdet.models.task_modules.assigners import AssignResult


def make_assign(num_neg=2000, num_pos=100, num_gts=5, zero_frac=0.5,
                max_iou=0.95, seed=0):
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
        gt_inds[num_neg:] = torch.randint(1, num_gts + 1, (num_pos, ),
                                          generator=g)
    perm = torch.randperm(n, generator=g)
    return AssignResult(num_gts, gt_inds[perm], iou[perm],
                        labels=torch.zeros(n, dtype=torch.long))
