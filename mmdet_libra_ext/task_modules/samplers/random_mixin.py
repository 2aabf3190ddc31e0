"""Common base of the samplers: MMDetection's sampler interface, torch RNG."""

import inspect
import math
from typing import Any, Optional, Set

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import BaseSampler
from torch import Tensor

from mmdet_libra_ext.utils.checks import check_known_options, named_args

from .utils import candidates

#: What MMDetection's callers hand a sampler besides its own options: its
#: heads build theirs with ``default_args=dict(context=self)``
#: (``AnchorHead``, ``StandardRoIHead`` and the other dense and RoI heads),
#: and ``CombinedSampler`` forwards its own arguments (``num``,
#: ``pos_fraction``, ``neg_pos_ub``, ``add_gt_as_proposals`` and that
#: ``context``) to both of its sub-samplers. ``context`` is accepted and not
#: used (no sampler of this package looks at the head).
CALLER_ARGS = ('context',)

#: Default of the required ``num`` and ``pos_fraction``: a misspelled one is
#: then reported as the unknown option it is, not as a missing argument.
REQUIRED: Any = inspect.Parameter.empty


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
    if (
        not isinstance(neg_pos_ub, (int, float))
        or isinstance(neg_pos_ub, bool)
        or not math.isfinite(neg_pos_ub)
        or (neg_pos_ub < 0 and neg_pos_ub != -1)
    ):
        raise ValueError(
            f'neg_pos_ub must be -1 (no bound) or a finite number >= 0, '
            f'got {neg_pos_ub!r}'
        )


def sampler_options(cls: type) -> Set[str]:
    """Every option a sampler class takes: the named arguments of its own
    ``__init__`` and of its bases' in this package, plus
    :data:`CALLER_ARGS`."""
    names = set(CALLER_ARGS)
    for klass in cls.__mro__:
        if issubclass(klass, TorchRandomSampler):
            names |= named_args(klass.__init__)
    return names


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
        context (optional): What MMDetection's heads and ``CombinedSampler``
            pass (see :data:`CALLER_ARGS`); not used.

    Any other option is refused with a TypeError naming it and the closest
    accepted one: a misspelled option (``floor_fracton``) would otherwise
    train another method silently (MMDetection's samplers swallow it).
    """

    def __init__(
        self,
        num: int = REQUIRED,
        pos_fraction: float = REQUIRED,
        neg_pos_ub: int = -1,
        add_gt_as_proposals: bool = True,
        generator: Optional[torch.Generator] = None,
        context: Any = None,
        **kwargs: Any,
    ) -> None:
        name = type(self).__name__
        check_known_options(name, kwargs, sampler_options(type(self)))
        for option, value in (('num', num), ('pos_fraction', pos_fraction)):
            if value is REQUIRED:
                raise TypeError(f'{name} needs the option {option!r}')
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
