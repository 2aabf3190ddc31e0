"""Common base of the samplers: MMDetection's sampler interface, torch RNG."""

from typing import Any, Optional

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import BaseSampler
from torch import Tensor

from .utils import candidates


def check_sampler_args(
    num: Any, pos_fraction: Any, neg_pos_ub: Any = -1
) -> None:
    """Refuse the arguments every sampler shares, naming the bad one."""
    if not isinstance(num, int) or isinstance(num, bool) or num <= 0:
        raise ValueError(f'num must be a positive int, got {num!r}')
    if (
        not isinstance(pos_fraction, (int, float))
        or not 0 <= pos_fraction <= 1
    ):
        raise ValueError(
            f'pos_fraction must be in [0, 1], got {pos_fraction!r}'
        )
    if not isinstance(neg_pos_ub, (int, float)) or (
        neg_pos_ub < 0 and neg_pos_ub != -1
    ):
        raise ValueError(
            f'neg_pos_ub must be -1 (no bound) or >= 0, got {neg_pos_ub!r}'
        )


class TorchRandomSampler(BaseSampler):
    """MMDetection's ``BaseSampler`` with uniform sampling in pure torch.

    Positives and negatives are drawn uniformly (like MMDetection's
    ``RandomSampler``) from the global torch generator, or from
    ``generator`` when one is given. Subclasses override one side.

    Args:
        num (int): Number of samples per image.
        pos_fraction (float): Fraction of positives.
        neg_pos_ub (int): Upper bound of negatives per positive, -1 for none.
        add_gt_as_proposals (bool): Add the ground truths as proposals.
        generator (torch.Generator, optional): Random generator; defaults to
            torch's global one.
    """

    def __init__(
        self,
        num: int,
        pos_fraction: float,
        neg_pos_ub: int = -1,
        add_gt_as_proposals: bool = True,
        generator: Optional[torch.Generator] = None,
        **kwargs: Any,
    ) -> None:
        check_sampler_args(num, pos_fraction, neg_pos_ub)
        super().__init__(
            num=num,
            pos_fraction=pos_fraction,
            neg_pos_ub=neg_pos_ub,
            add_gt_as_proposals=add_gt_as_proposals,
        )
        self.generator = generator

    def _random_from(self, mask: Tensor, num_expected: int) -> Tensor:
        inds = candidates(mask)
        if inds.numel() <= num_expected:
            return inds
        perm = torch.randperm(
            inds.numel(), device=inds.device, generator=self.generator
        )
        return inds.index_select(0, perm[:num_expected])

    def _sample_pos(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> Tensor:
        """Uniformly random positives."""
        return self._random_from(assign_result.gt_inds > 0, num_expected)

    def _sample_neg(
        self, assign_result: AssignResult, num_expected: int, **kwargs: Any
    ) -> Tensor:
        """Uniformly random negatives."""
        return self._random_from(assign_result.gt_inds == 0, num_expected)
