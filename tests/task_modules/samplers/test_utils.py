"""The ranking helpers shared by the samplers."""

import torch

from mmdet_libra_ext.task_modules.samplers.utils import (
    rank_within_groups,
    rank_within_mask,
)


def test_rank_within_mask_is_the_two_group_case():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(5000, generator=g) < 0.3
    a = rank_within_mask(mask, torch.Generator().manual_seed(1))
    b = rank_within_groups((~mask).long(), 2, torch.Generator().manual_seed(1))
    assert torch.equal(a[mask], b[mask])
    # A permutation of 0..n-1 over the true elements.
    assert torch.equal(a[mask].sort().values, torch.arange(int(mask.sum())))


def test_rank_within_groups_is_uniform():
    # Each element of a group of 4 takes each rank 1/4 of the time.
    group = torch.tensor([0, 1, 0, 1, 0, 2, 0, 1])
    counts = torch.zeros(8, 4)
    gen = torch.Generator().manual_seed(0)
    for _ in range(4000):
        r = rank_within_groups(group, 3, gen)
        counts[torch.arange(8), r.clamp(max=3)] += 1
    in_g0 = group == 0
    freq = counts[in_g0] / 4000
    assert (freq - 0.25).abs().max() < 0.03
    # Group 2 has one element: always rank 0.
    assert counts[5, 0] == 4000
