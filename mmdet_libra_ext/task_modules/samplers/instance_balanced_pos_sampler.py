"""Instance-balanced positive sampler (Libra R-CNN), vectorised in torch."""

from typing import Any

import torch
from mmdet.models.task_modules.assigners import AssignResult
from torch import Tensor

from mmdet_libra_ext.registry import TASK_UTILS

from .random_mixin import TorchRandomSampler
from .utils import candidates, rank_within_groups, select


@TASK_UTILS.register_module()
class InstanceBalancedPosSampler(TorchRandomSampler):
    """Positives spread evenly over ground-truth instances.

    Each instance gives at most ``round(num_expected / num_gts) + 1``
    positives; a shortfall is filled uniformly, an excess cut uniformly:
    MMDetection's ``InstanceBalancedPosSampler`` distribution without its
    duplicates, pure torch and reproducible (docs/components.md).
    Negatives are sampled uniformly.

    Args:
        num (int): Number of samples per image.
        pos_fraction (float): Fraction of positives.
        neg_pos_ub (int): Upper bound of negatives per positive.
        add_gt_as_proposals (bool): Add the ground truths as proposals.
        generator (torch.Generator, optional): Random generator.
        context (optional): Passed by MMDetection's heads; not used.
    """

    def _sample_pos(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> Tensor:
        """Sample ``num_expected`` positives balanced over instances."""
        gt_inds = assign_result.gt_inds
        inds = candidates(gt_inds > 0)
        m = inds.numel()
        if m <= num_expected:
            return inds
        num_groups = max(int(assign_result.num_gts), 1)
        group = (gt_inds.index_select(0, inds) - 1).clamp(0, num_groups - 1)
        num_gts = (torch.bincount(group, minlength=num_groups) > 0).sum()
        # MMDetection: int(round(num_expected / num_gts) + 1), round half to
        # even like Python's round().
        per_gt = torch.round(num_expected / num_gts.double()) + 1
        rank1 = rank_within_groups(group, num_groups, self.generator)
        balanced = rank1 < per_gt
        # Final draw: the balanced set first, then the other positives, in a
        # uniform random order within each tier; keep the first
        # num_expected. An excess is thus cut uniformly from the balanced
        # set and a shortfall filled uniformly from the rest.
        rank2 = rank_within_groups((~balanced).long(), 2, self.generator)
        n_balanced = balanced.sum()
        keep = torch.where(
            balanced, rank2 < num_expected, rank2 < num_expected - n_balanced
        )
        return select(inds, keep, num_expected)
