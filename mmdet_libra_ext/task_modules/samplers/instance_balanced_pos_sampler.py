"""Instance-balanced positive sampler (Libra R-CNN), vectorised in torch."""
import torch
from torch import Tensor

from mmdet_libra_ext.registry import TASK_UTILS
from .random_mixin import TorchRandomSampler
from .utils import mask_to_inds, rank_within_groups


@TASK_UTILS.register_module()
class InstanceBalancedPosSampler(TorchRandomSampler):
    """Positives spread evenly over ground-truth instances.

    Each instance gives at most ``round(num_expected / num_gts) + 1``
    positives (all of its own if it has fewer); a shortfall is filled
    uniformly from the remaining positives, an excess is cut to a uniform
    random subset. This is the per-instance distribution of MMDetection's
    ``InstanceBalancedPosSampler``, without its duplicates (its fill step
    subtracts sets of tensors, which hash by identity) and reproducible from
    the torch seed: pure torch on the inputs' device, no loop over
    instances, one host synchronisation per call. Negatives are sampled
    uniformly.

    Args:
        num (int): Number of samples per image.
        pos_fraction (float): Fraction of positives.
        neg_pos_ub (int): Upper bound of negatives per positive.
        add_gt_as_proposals (bool): Add the ground truths as proposals.
        generator (torch.Generator, optional): Random generator.
    """

    def _sample_pos(self, assign_result, num_expected: int,
                    **kwargs) -> Tensor:
        """Sample ``num_expected`` positives balanced over instances."""
        gt_inds = assign_result.gt_inds
        pos = gt_inds > 0
        n = pos.numel()
        if n == 0:
            return mask_to_inds(pos)
        # Group = instance (gt_inds are 1-based; 0 collects non-positives).
        group = gt_inds.clamp(min=0).long()
        num_groups = int(assign_result.num_gts) + 1
        num_gts = (torch.bincount(group[pos], minlength=num_groups) > 0).sum()
        per_gt = torch.round(num_expected / num_gts.clamp(min=1)) + 1
        rank1 = rank_within_groups(group, self._keys(n, pos.device),
                                   num_groups)
        balanced = pos & (rank1 < per_gt)
        # Final draw: the balanced set first, then the other positives, in a
        # uniform random order within each tier; keep the first
        # num_expected. An excess is thus cut uniformly from the balanced
        # set and a shortfall filled uniformly from the rest.
        tier = (~balanced).long() + (~pos).long()
        rank2 = rank_within_groups(tier, self._keys(n, pos.device), 3)
        n_balanced = balanced.sum()
        keep = torch.where(balanced, rank2 < num_expected,
                           rank2 < num_expected - n_balanced)
        return mask_to_inds(pos & keep)
