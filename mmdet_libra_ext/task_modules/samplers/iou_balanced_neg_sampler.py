"""IoU-balanced negative sampler (Libra R-CNN), vectorised in torch."""

from typing import Any, Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult
from torch import Tensor

from mmdet_libra_ext.registry import TASK_UTILS
from mmdet_libra_ext.utils.checks import check_one_of

from .random_mixin import REQUIRED, TorchRandomSampler
from .utils import candidates, rank_within_groups, rank_within_mask, select

BIN_RANGES = ('all', 'negatives')


@TASK_UTILS.register_module()
class IoUBalancedNegSampler(TorchRandomSampler):
    """IoU-balanced sampling of negatives (https://arxiv.org/abs/1904.02701).

    Splits the negatives' quota evenly over ``num_bins`` IoU bins (a short
    bin's shortfall filled uniformly), with MMDetection's
    ``IoUBalancedNegSampler`` distribution in its steady state; positives
    are uniform. Pure torch on the inputs' device, reproducible from the
    torch seed. Floor set, bin range, differences: docs/components.md.

    Args:
        num (int): Samples per image.
        pos_fraction (float): Fraction of positives.
        floor_thr (float): -1, or a threshold in ``[0, 1)``. Defaults to -1.
        floor_fraction (float): The floor set's share, in ``[0, 1]``.
        num_bins (int): IoU bins, >= 1. Defaults to 3.
        bin_range (str): ``'all'`` (MMDetection) or ``'negatives'``.
        neg_pos_ub (int): Upper bound of negatives per positive.
        add_gt_as_proposals (bool): Add the ground truths as proposals.
        generator (torch.Generator, optional): Random generator.
        context (optional): Passed by MMDetection's heads; not used.
    """

    def __init__(
        self,
        num: int = REQUIRED,
        pos_fraction: float = REQUIRED,
        floor_thr: float = -1,
        floor_fraction: float = 0,
        num_bins: int = 3,
        bin_range: str = 'all',
        neg_pos_ub: int = -1,
        add_gt_as_proposals: bool = True,
        generator: Optional[torch.Generator] = None,
        **kwargs: Any,
    ) -> None:
        # kwargs: MMDetection's context, anything else is refused there.
        super().__init__(
            num,
            pos_fraction,
            neg_pos_ub=neg_pos_ub,
            add_gt_as_proposals=add_gt_as_proposals,
            generator=generator,
            **kwargs,
        )
        if not isinstance(floor_thr, (int, float)) or not (
            floor_thr == -1 or 0 <= floor_thr < 1
        ):
            raise ValueError(
                f'floor_thr must be -1 or in [0, 1), got {floor_thr!r}'
            )
        if (
            not isinstance(floor_fraction, (int, float))
            or not 0 <= floor_fraction <= 1
        ):
            raise ValueError(
                f'floor_fraction must be in [0, 1], got {floor_fraction!r}'
            )
        if (
            not isinstance(num_bins, int)
            or isinstance(num_bins, bool)
            or num_bins < 1
        ):
            raise ValueError(f'num_bins must be an int >= 1, got {num_bins!r}')
        check_one_of(bin_range, BIN_RANGES, 'bin_range')
        self.floor_thr = floor_thr
        self.floor_fraction = floor_fraction
        self.num_bins = num_bins
        self.bin_range = bin_range

    def _bins(self, iou: Tensor, iou_set: Tensor, all_iou: Tensor) -> Tensor:
        """Bin index of each IoU-set candidate, ``num_bins`` for one at or
        above the top edge (in no bin); meaningless outside the IoU set."""
        k = self.num_bins
        lo = max(self.floor_thr, 0)
        if k == 1:
            return torch.zeros_like(iou, dtype=torch.long)
        if self.bin_range == 'all':
            max_iou = all_iou.max()
        else:
            max_iou = torch.where(iou_set, iou, lo).max()
        # Edges computed like MMDetection's (lo + i * interval, in the IoU
        # dtype), so IoUs exactly on an edge land in the same bin.
        interval = (max_iou - lo) / k
        edges = (
            lo
            + torch.arange(1, k + 1, device=iou.device, dtype=iou.dtype)
            * interval
        )
        # The IoU set lies at or above the first edge (lo): its bin is the
        # number of upper edges at or below it (bucketize(..., right=True)
        # on all edges, minus one, but several times faster on CPU).
        bins = (iou[None, :] >= edges[:, None]).sum(0)
        if self.bin_range == 'negatives':
            # Literal reading: the top edge is the negatives' own maximum
            # and is included in the last bin.
            bins = bins.clamp(max=k - 1)
        return bins

    def _sample_neg(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> Tensor:
        """Sample ``num_expected`` negatives, balanced over IoU bins."""
        all_iou = assign_result.max_overlaps
        inds = candidates(assign_result.gt_inds == 0)
        m = inds.numel()
        if m <= num_expected:
            return inds
        k = self.num_bins
        iou = all_iou.index_select(0, inds)
        if self.floor_thr > 0:
            iou_set = iou >= self.floor_thr
        else:
            iou_set = iou > 0
        floor_set = ~iou_set
        quota_iou = int(num_expected * (1 - self.floor_fraction))
        per_bin = int(quota_iou / k)

        # Groups 0..k-1: bins; k: IoU set in no bin; k+1: floor set.
        group = torch.where(iou_set, self._bins(iou, iou_set, all_iou), k + 1)
        rank1 = rank_within_groups(group, k + 2, self.generator)
        # Stage 1: up to per_bin from every bin.
        stage1 = (group < k) & (rank1 < per_bin)
        n1 = stage1.sum()
        # Stage 2: fill the IoU quota uniformly from the IoU set's rest
        # (a fresh random order: the rest of each bin is not a uniform
        # sample of the first order's tail).
        iou_rest = iou_set & ~stage1
        rank2 = rank_within_mask(iou_rest, self.generator)
        n2 = (quota_iou - n1).clamp(min=0)
        n_iou = n1 + torch.minimum(n2, iou_rest.sum())
        # Stage 3: the floor set fills the rest of the quota.
        n3 = num_expected - n_iou
        stage3 = floor_set & (rank1 < n3)
        n_floor = torch.minimum(n3, floor_set.sum())
        # Stage 4: any shortfall from the IoU set's leftovers, next in the
        # same random order as stage 2 (stages 2 and 4: the first n2 + n4).
        n4 = num_expected - n_iou - n_floor
        stage24 = iou_rest & (rank2 < n2 + n4)
        # Exactly num_expected are selected (m > num_expected candidates).
        return select(inds, stage1 | stage3 | stage24, num_expected)
