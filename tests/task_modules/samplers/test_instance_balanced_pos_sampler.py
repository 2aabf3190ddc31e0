"""Instance-balanced positive sampler: per-instance distribution of
MMDetection's sampler, without duplicates, reproducible."""

import pytest
import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import (
    InstanceBalancedPosSampler as MMDetInstanceBalancedPosSampler,
)

from mmdet_libra_ext.task_modules.samplers import InstanceBalancedPosSampler
from tests.task_modules.samplers.helpers import make_assign  # noqa: E402

SIZES = (200, 40, 5, 60, 100)  # positives of gts 1..5


def skewed_assign():
    gt_inds = torch.cat(
        [torch.zeros(100, dtype=torch.long)]
        + [
            torch.full((n,), i + 1, dtype=torch.long)
            for i, n in enumerate(SIZES)
        ]
    )
    return AssignResult(
        len(SIZES),
        gt_inds,
        torch.where(gt_inds > 0, 0.7, 0.1),
        torch.zeros_like(gt_inds),
    )


def per_gt(inds, assign):
    return torch.bincount(assign.gt_inds[inds], minlength=assign.num_gts + 1)[
        1:
    ]


def _valid(inds, assign):
    assert (inds >= 0).all()
    assert inds.unique().numel() == inds.numel(), 'duplicates'
    assert (assign.gt_inds[inds] > 0).all()


def test_balanced_over_instances_with_fill():
    assign = skewed_assign()
    sampler = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    inds = sampler._sample_pos(assign, 128)
    _valid(inds, assign)
    counts = per_gt(inds, assign)
    # Quota round(128 / 5) + 1 = 27 per gt; gt 3 has only 5 (all taken):
    # 4 * 27 + 5 = 113, and 15 more fill from the remaining positives.
    assert int(counts.sum()) == 128
    assert int(counts[2]) == 5
    assert all(int(c) >= 27 for i, c in enumerate(counts) if i != 2)


def test_excess_is_cut_uniformly():
    assign = skewed_assign()
    sampler = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    # Quota round(40 / 5) + 1 = 9: 4 * 9 + 5 = 41 > 40, one is dropped.
    inds = sampler._sample_pos(assign, 40)
    _valid(inds, assign)
    counts = per_gt(inds, assign)
    assert int(counts.sum()) == 40 and int(counts.max()) <= 9


def test_distribution_equals_mmdet():
    assign = skewed_assign()
    ours = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    ref = MMDetInstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    torch.manual_seed(0)
    t = 100
    ours_mean = (
        sum(
            per_gt(ours._sample_pos(assign, 128), assign) for _ in range(t)
        ).float()
        / t
    )
    ref_counts = []
    for _ in range(t):
        inds = ref._sample_pos(assign, 128).long()
        # MMDetection's fill can repeat an index: count distinct ones, the
        # positives that actually enter the loss.
        ref_counts.append(per_gt(inds.unique(), assign))
    ref_mean = sum(ref_counts).float() / t
    # Its duplicates make it return fewer distinct positives; the shares
    # per instance are the same.
    assert torch.allclose(
        ours_mean / ours_mean.sum(), ref_mean / ref_mean.sum(), atol=0.02
    )


def test_never_duplicates_where_mmdet_does():
    assign = skewed_assign()
    torch.manual_seed(0)
    ref = MMDetInstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    dup = sum(
        int(
            ref._sample_pos(assign, 128).numel()
            - ref._sample_pos(assign, 128).unique().numel()
            > 0
        )
        for _ in range(20)
    )
    assert dup > 0  # the reference bug this sampler fixes
    ours = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    for _ in range(50):
        _valid(ours._sample_pos(assign, 128), assign)


def test_reproducible_and_edge_cases():
    assign = skewed_assign()
    sampler = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    torch.manual_seed(1)
    a = sampler._sample_pos(assign, 64)
    torch.manual_seed(1)
    assert torch.equal(a, sampler._sample_pos(assign, 64))
    # Fewer positives than requested: all of them.
    small = make_assign(num_neg=50, num_pos=10, num_gts=3)
    inds = sampler._sample_pos(small, 64)
    _valid(inds, small)
    assert inds.numel() == 10
    # No positives, a single gt, no gt at all.
    none = make_assign(num_neg=50, num_pos=0, num_gts=0)
    assert sampler._sample_pos(none, 64).numel() == 0
    single = make_assign(num_neg=10, num_pos=100, num_gts=1)
    inds = sampler._sample_pos(single, 30)
    _valid(inds, single)
    assert inds.numel() == 30
    empty = AssignResult(
        0,
        torch.zeros(0, dtype=torch.long),
        torch.zeros(0),
        torch.zeros(0, dtype=torch.long),
    )
    assert sampler._sample_pos(empty, 8).numel() == 0
    assert sampler._sample_neg(empty, 8).numel() == 0


@pytest.mark.parametrize(
    'kwargs,name',
    [(dict(num=-1), 'num'), (dict(pos_fraction=-0.1), 'pos_fraction')],
)
def test_bad_arguments_refused(kwargs, name):
    args = dict(num=512, pos_fraction=0.25)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        InstanceBalancedPosSampler(**args)


@pytest.mark.parametrize(
    'gts,num_expected',
    [
        # Quota round(4 / 3) + 1 = 2 per gt: 2 + 2 + 1 = 5 > 4, one is cut.
        ((1, 1, 1, 1, 2, 2, 2, 2, 3), 4),
        # Quota round(6 / 2) + 1 = 4 per gt: 4 + 3 = 7 > 6.
        ((1, 1, 1, 1, 1, 1, 2, 2, 2), 6),
    ],
)
def test_joint_distribution_equals_mmdet(gts, num_expected):
    """Whole samples, where MMDetection's sampler has no duplicates (no
    fill step): the same distribution over subsets, not just the same
    per-instance counts."""
    from tests.task_modules.samplers.helpers import subset_pvalue, tiny_assign

    assign = tiny_assign([0.1, 0.2], pos_ious=[0.7] * len(gts), pos_gts=gts)
    ours = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    ref = MMDetInstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    torch.manual_seed(0)
    p = subset_pvalue(
        lambda: ours._sample_pos(assign, num_expected),
        lambda: ref._sample_pos(assign, num_expected),
        trials=3000,
    )
    assert p > 1e-3, p
    # Uniform positives (no instance balance) are told apart.
    p_uniform = subset_pvalue(
        lambda: ours._random_from(assign.gt_inds > 0, num_expected),
        lambda: ref._sample_pos(assign, num_expected),
        trials=3000,
    )
    assert p_uniform < 1e-6, p_uniform
