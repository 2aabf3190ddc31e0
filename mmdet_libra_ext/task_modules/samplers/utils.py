"""Vectorised random selection shared by the samplers of this package.

A sampler first gathers its candidates (``torch.nonzero``: the one host
synchronisation of a call, needed because the number of candidates sizes all
later work and the result), then works on fixed-size tensors on their
device: random permutations and per-group running counts replace Python
sets, ``numpy`` draws and sorting, and the result is read with
``torch.nonzero_static`` whose size is known on the host. Randomness comes
from torch's global generator (reproducible with ``torch.manual_seed`` or
mmengine's ``randomness=dict(seed=...)``) or from a given generator.
"""

from typing import Optional

import torch
from torch import Tensor

#: Above this many (candidates x groups) cells, ranks come from a sort
#: instead of per-group running counts.
_DENSE_RANK_LIMIT = 1 << 22


def candidates(mask: Tensor) -> Tensor:
    """Indices of a mask (the one host synchronisation of a call)."""
    return torch.nonzero(mask, as_tuple=False).view(-1)


def select(inds: Tensor, mask: Tensor, size: int) -> Tensor:
    """``inds[mask]`` when ``mask`` is known to hold exactly ``size`` true
    values, without a host synchronisation."""
    if size == 0:
        return inds[:0]
    try:
        pos = torch.nonzero_static(mask, size=size).view(-1)
    except (AttributeError, NotImplementedError, RuntimeError):
        pos = torch.nonzero(mask, as_tuple=False).view(-1)
    return inds.index_select(0, pos)


def rank_within_groups(
    group: Tensor, num_groups: int, generator: Optional[torch.Generator] = None
) -> Tensor:
    """Uniformly random rank of every element among its group.

    Args:
        group (Tensor): Integer group of each element, in
            ``[0, num_groups)``.
        num_groups (int): Number of groups.
        generator (torch.Generator, optional): Random generator.

    Returns:
        Tensor: ``rank[i]`` in ``[0, size of group[i])``, a uniformly random
        order inside each group: the elements of rank below ``k`` are a
        uniform random ``k``-subset of their group (all of it if the group
        has at most ``k`` elements).
    """
    m = group.numel()
    perm = torch.randperm(m, device=group.device, generator=generator)
    g = group.index_select(0, perm)
    if m * num_groups <= _DENSE_RANK_LIMIT:
        # Running count of each group along the permuted order.
        onehot = (
            g[None, :] == torch.arange(num_groups, device=g.device)[:, None]
        )
        running = onehot.cumsum(1, dtype=torch.int32)
        r = running.gather(0, g[None, :]).view(-1) - 1
    else:
        order = torch.argsort(g, stable=True)
        counts = torch.bincount(g, minlength=num_groups)
        starts = torch.cumsum(counts, 0) - counts
        r = torch.empty_like(g)
        r.scatter_(
            0,
            order,
            torch.arange(m, device=g.device)
            - starts.index_select(0, g.index_select(0, order)),
        )
    # Back to the elements' own order (scatter_ is the cheapest inverse
    # permutation in torch).
    return torch.empty_like(r).scatter_(0, perm, r)


def rank_within_mask(
    mask: Tensor, generator: Optional[torch.Generator] = None
) -> Tensor:
    """Uniformly random rank of every true element of ``mask`` among the
    true ones (values where ``mask`` is false are meaningless).

    The two-group case of :func:`rank_within_groups` (same draws, same
    ranks for the true elements) without its one-hot running counts.
    """
    perm = torch.randperm(
        mask.numel(), device=mask.device, generator=generator
    )
    r = mask.index_select(0, perm).cumsum(0, dtype=torch.int32) - 1
    return torch.empty_like(r).scatter_(0, perm, r)
