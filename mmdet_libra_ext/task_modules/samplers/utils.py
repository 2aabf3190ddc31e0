"""Vectorised random selection shared by the samplers of this package.

Everything works on boolean masks over all candidates, on their device:
random keys and sorting replace Python sets and ``numpy`` draws, so a
sampler draws from torch's random generator (reproducible with
``torch.manual_seed`` or mmengine's ``randomness=dict(seed=...)``) and
synchronises with the host only once, when the final mask becomes indices.
"""
from typing import Optional

import torch
from torch import Tensor


def random_keys(n: int, device: torch.device,
                generator: Optional[torch.Generator] = None) -> Tensor:
    """``n`` i.i.d. uniform keys in ``[0, 1)`` (float64: ties have
    probability ~1e-16, and a tie only affects the order among equals)."""
    return torch.rand(n, dtype=torch.float64, device=device,
                      generator=generator)


def rank_within_groups(group: Tensor, keys: Tensor,
                       num_groups: int) -> Tensor:
    """Rank of every element among the elements of its group, by key.

    Args:
        group (Tensor): Integer group id of each element in
            ``[0, num_groups)``.
        keys (Tensor): Keys in ``[0, 1)``; smaller keys rank first.
        num_groups (int): Number of groups.

    Returns:
        Tensor: ``rank[i]`` in ``[0, size of group[i])``: with random keys,
        the elements of rank below ``k`` are a uniform random ``k``-subset of
        the group (all of it if it has at most ``k`` elements).
    """
    order = torch.argsort(group.to(keys.dtype) + keys)
    counts = torch.bincount(group, minlength=num_groups)
    starts = torch.cumsum(counts, 0) - counts
    sorted_group = group[order]
    rank = torch.empty_like(group)
    rank[order] = torch.arange(group.numel(), device=group.device) - \
        starts[sorted_group]
    return rank


def take_random(mask: Tensor, k, keys: Tensor) -> Tensor:
    """Mask of a uniform random subset of ``min(k, mask.sum())`` elements
    of ``mask`` (``k`` may be a python int or a 0-d tensor)."""
    rank = rank_within_groups((~mask).long(), keys, 2)
    return mask & (rank < k)


def mask_to_inds(mask: Tensor) -> Tensor:
    """Indices of a mask (the one host synchronisation of a sampler: the
    number of samples must be known to size the result)."""
    return torch.nonzero(mask, as_tuple=False).view(-1)
