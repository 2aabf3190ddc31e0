"""IoU-balanced negative sampler: counts per bin, floor/fill rules, the
distribution of MMDetection's sampler (after its first call) as reference,
uniqueness, reproducibility, edge cases."""

import copy

import pytest
import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import (
    IoUBalancedNegSampler as MMDetIoUBalancedNegSampler,
)
from mmdet.models.task_modules.samplers import (
    RandomSampler as MMDetRandomSampler,
)
from mmdet.models.task_modules.samplers import SamplingResult
from mmengine.structures import InstanceData

from mmdet_libra_ext.task_modules.samplers import IoUBalancedNegSampler
from tests.task_modules.samplers.helpers import make_assign  # noqa: E402


def _check_valid(inds, assign):
    assert inds.dtype == torch.long
    assert (inds >= 0).all()
    assert inds.unique().numel() == inds.numel(), 'duplicate indices'
    assert (assign.gt_inds[inds] == 0).all(), 'non-negative sampled'


def bin_counts(inds, assign, edges):
    iou = assign.max_overlaps[inds]
    zero = int((iou == 0).sum())
    counts = [
        int(((iou >= lo) & (iou < hi) & (iou > 0)).sum())
        for lo, hi in zip(edges[:-1], edges[1:])
    ]
    return zero, counts


def test_per_bin_counts_when_candidates_suffice():
    # Max IoU 0.5: the bins [0, 1/6), [1/6, 1/3), [1/3, 1/2) all hold
    # hundreds of negatives, so each gives exactly N/K.
    assign = make_assign(max_iou=0.5)
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    inds = sampler._sample_neg(assign, 300)
    _check_valid(inds, assign)
    assert inds.numel() == 300
    zero, counts = bin_counts(inds, assign, [0, 0.5 / 3, 1 / 3, 0.5])
    assert counts == [100, 100, 100] and zero == 0
    assert sampler.floor_thr == -1  # configuration untouched


def test_short_bin_is_filled_from_the_iou_set():
    # Max IoU 0.95: bins [0, .317), [.317, .633), [.633, .95); negatives
    # (IoU < 0.5) leave the third empty, its 100 come from the other two.
    assign = make_assign(max_iou=0.95)
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    inds = sampler._sample_neg(assign, 300)
    _check_valid(inds, assign)
    zero, counts = bin_counts(inds, assign, [0, 0.95 / 3, 2 * 0.95 / 3, 0.95])
    assert counts[0] >= 100 and counts[1] >= 100 and counts[2] == 0
    assert sum(counts) == 300
    # Zero-IoU negatives (the floor set) only fill what the IoU set cannot.
    assert zero == 0


def test_floor_fills_when_iou_set_is_short():
    assign = make_assign(num_neg=2000, zero_frac=0.9)  # 200 non-zero
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    inds = sampler._sample_neg(assign, 384)
    _check_valid(inds, assign)
    iou = assign.max_overlaps[inds]
    assert int((iou > 0).sum()) == 200  # all of the IoU set
    assert int((iou == 0).sum()) == 184  # the floor fills the rest


def test_floor_thr_and_floor_fraction():
    assign = make_assign()
    sampler = IoUBalancedNegSampler(
        num=512,
        pos_fraction=0.25,
        floor_thr=0.1,
        floor_fraction=0.5,
        num_bins=2,
    )
    inds = sampler._sample_neg(assign, 200)
    _check_valid(inds, assign)
    iou = assign.max_overlaps[inds]
    assert int((iou < 0.1).sum()) == 100  # floor_fraction of the quota
    # Bins [0.1, 0.525), [0.525, 0.95): 50 each, but the second holds no
    # negative (IoU < 0.5), so the IoU quota of 100 is filled from the rest
    # of the IoU set.
    assert int((iou >= 0.1).sum()) == 100


def _mmdet_steady(sampler_kwargs, assign):
    ref = MMDetIoUBalancedNegSampler(**sampler_kwargs)
    ref._sample_neg(assign, 10)  # its first call sets floor_thr = 0
    return ref


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(num_bins=3),
        dict(num_bins=2),
        dict(num_bins=5),
        dict(num_bins=3, floor_thr=0.05, floor_fraction=0.3),
        dict(num_bins=1),
    ],
)
def test_distribution_equals_mmdet_steady_state(kwargs):
    """Inclusion frequency per IoU stratum over many draws."""
    assign = make_assign(num_neg=1500, zero_frac=0.6, seed=1)
    base = dict(num=512, pos_fraction=0.25, **kwargs)
    ref = _mmdet_steady(base, assign)
    ours = IoUBalancedNegSampler(**base)
    strata = torch.tensor([0, 1e-9, 0.05, 0.1, 0.2, 0.3, 0.317, 0.4, 0.5])
    iou = assign.max_overlaps

    def histogram(sampler, trials):
        total = torch.zeros(len(strata))
        for _ in range(trials):
            inds = sampler._sample_neg(assign, 350)
            if isinstance(inds, torch.Tensor):
                inds = inds.long()
            total += torch.bincount(
                torch.bucketize(iou[inds], strata, right=True) - 1,
                minlength=len(strata),
            ).float()
        return total / trials

    torch.manual_seed(0)
    ref_hist = histogram(ref, 60)
    ours_hist = histogram(ours, 60)
    assert ours_hist.sum() == pytest.approx(350)
    # Expected counts per stratum agree within a few samples (the random
    # part of each stratum's count has a standard deviation below ~10).
    assert torch.allclose(ours_hist, ref_hist, atol=6), (ours_hist, ref_hist)


def test_bins_over_negatives_option():
    assign = make_assign()
    sampler = IoUBalancedNegSampler(
        num=512, pos_fraction=0.25, bin_range='negatives'
    )
    inds = sampler._sample_neg(assign, 300)
    _check_valid(inds, assign)
    top = assign.max_overlaps[assign.gt_inds == 0].max()
    edges = [0, top / 3, 2 * top / 3, top + 1e-6]
    _, counts = bin_counts(inds, assign, edges)
    assert counts == [100, 100, 100]


def test_reproducible_from_torch_seed_and_generator():
    assign = make_assign()
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    torch.manual_seed(7)
    a = sampler._sample_neg(assign, 300)
    torch.manual_seed(7)
    b = sampler._sample_neg(assign, 300)
    c = sampler._sample_neg(assign, 300)
    assert torch.equal(a, b) and not torch.equal(b, c)
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    s1 = IoUBalancedNegSampler(num=512, pos_fraction=0.25, generator=g1)
    s2 = IoUBalancedNegSampler(num=512, pos_fraction=0.25, generator=g2)
    assert torch.equal(
        s1._sample_neg(assign, 300), s2._sample_neg(assign, 300)
    )


@pytest.mark.parametrize(
    'case', ['no_neg', 'few', 'one_bin', 'all_zero', 'on_edges', 'empty']
)
def test_edge_cases(case):
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    if case == 'no_neg':
        assign = make_assign(num_neg=0, num_pos=20)
        assert sampler._sample_neg(assign, 100).numel() == 0
        return
    if case == 'empty':
        assign = AssignResult(
            0,
            torch.zeros(0, dtype=torch.long),
            torch.zeros(0),
            torch.zeros(0, dtype=torch.long),
        )
        assert sampler._sample_neg(assign, 100).numel() == 0
        return
    if case == 'few':
        assign = make_assign(num_neg=50)
        inds = sampler._sample_neg(assign, 300)
        _check_valid(inds, assign)
        assert inds.numel() == 50
        return
    if case == 'one_bin':
        assign = make_assign(num_neg=500, zero_frac=0.0)
        assign.max_overlaps[assign.gt_inds == 0] = 0.01
        inds = sampler._sample_neg(assign, 200)
        _check_valid(inds, assign)
        assert inds.numel() == 200
        return
    if case == 'all_zero':
        assign = make_assign(num_neg=500, zero_frac=1.0)
        inds = sampler._sample_neg(assign, 200)
        _check_valid(inds, assign)
        assert inds.numel() == 200
        return
    # IoUs exactly on the bin edges of [0, 0.9): 0.3 and 0.6 start bins.
    n = 90
    iou = torch.cat(
        [
            torch.full((30,), 0.3),
            torch.full((30,), 0.6),
            torch.full((30,), 0.1),
            torch.tensor([0.9]),
        ]
    )
    gt_inds = torch.zeros(n + 1, dtype=torch.long)
    gt_inds[-1] = 1
    iou[30:60] = 0.6  # "negatives" at 0.6 (assigner with pos_iou_thr 0.7)
    assign = AssignResult(1, gt_inds, iou, torch.zeros(n + 1).long())
    ref = _mmdet_steady(dict(num=512, pos_fraction=0.25), assign)
    inds = sampler._sample_neg(assign, 30)
    ref_inds = torch.as_tensor(ref._sample_neg(assign, 30)).long()
    for x in (inds, ref_inds):
        vals = assign.max_overlaps[x]
        assert int((vals == 0.1).sum()) == 10
        assert int((vals == 0.3).sum()) == 10
        assert int((vals == 0.6).sum()) == 10


def test_image_without_ground_truth_through_sample():
    sampler = IoUBalancedNegSampler(num=64, pos_fraction=0.25)
    n = 100
    assign = AssignResult(
        0,
        torch.zeros(n, dtype=torch.long),
        torch.zeros(n),
        torch.full((n,), -1, dtype=torch.long),
    )
    pred = InstanceData(priors=torch.rand(n, 4) * 10)
    gt = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long)
    )
    res = sampler.sample(assign, pred, gt)
    assert isinstance(res, SamplingResult)
    assert res.pos_inds.numel() == 0 and res.neg_inds.numel() == 64


def test_inside_mmdet_combined_sampler():
    from mmdet.registry import TASK_UTILS

    sampler = TASK_UTILS.build(
        dict(
            type='CombinedSampler',
            num=128,
            pos_fraction=0.25,
            add_gt_as_proposals=True,
            pos_sampler=dict(
                type='mmdet_libra_ext.InstanceBalancedPosSampler'
            ),
            neg_sampler=dict(
                type='mmdet_libra_ext.IoUBalancedNegSampler',
                floor_thr=-1,
                floor_fraction=0,
                num_bins=3,
            ),
        )
    )
    assign = make_assign(num_neg=400, num_pos=60, num_gts=4)
    n = assign.gt_inds.numel()
    pred = InstanceData(priors=torch.rand(n, 4) * 50)
    gt = InstanceData(
        bboxes=torch.rand(4, 4) * 50, labels=torch.zeros(4, dtype=torch.long)
    )
    res = sampler.sample(copy.deepcopy(assign), pred, gt)
    assert isinstance(res, SamplingResult)
    assert res.pos_inds.numel() == 32 and res.neg_inds.numel() == 96
    assert res.pos_inds.unique().numel() == res.pos_inds.numel()
    assert res.neg_inds.unique().numel() == res.neg_inds.numel()


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(num_bins=0), 'num_bins'),
        (dict(floor_thr=1.0), 'floor_thr'),
        (dict(floor_thr=-0.5), 'floor_thr'),
        (dict(floor_fraction=1.5), 'floor_fraction'),
        (dict(num=0), 'num'),
        (dict(pos_fraction=1.2), 'pos_fraction'),
        (dict(bin_range='x'), 'bin_range'),
        (dict(neg_pos_ub=-3), 'neg_pos_ub'),
    ],
)
def test_bad_arguments_refused(kwargs, name):
    args = dict(num=512, pos_fraction=0.25)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        IoUBalancedNegSampler(**args)


def test_bfloat16_overlaps_under_autocast():
    # IoUs computed under autocast may reach the sampler in 16 bits.
    assign = make_assign(max_iou=0.5)
    assign.max_overlaps = assign.max_overlaps.to(torch.bfloat16)
    sampler = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        inds = sampler._sample_neg(assign, 300)
    _check_valid(inds, assign)
    assert inds.numel() == 300
    # Still balanced over the IoU bins of the rounded values.
    iou = assign.max_overlaps.float()[inds]
    assert (iou > 0).sum() == 300


@pytest.mark.parametrize(
    'case',
    [
        # 3 bins over [0, 0.9): one from each of the two occupied bins, three
        # more from the rest of the IoU set; the floor is not needed.
        dict(
            neg=[0, 0, 0, 0.05, 0.1, 0.15, 0.25, 0.32, 0.4],
            num_expected=5,
            kwargs=dict(),
        ),
        # The IoU set is short: all of it, and the floor set fills the rest.
        dict(
            neg=[0, 0, 0, 0, 0.05, 0.2, 0.35, 0.45],
            num_expected=6,
            kwargs=dict(),
        ),
        # floor_thr / floor_fraction: 3 from the IoU set (one per bin, then the
        # fill), 3 from the floor set (IoU < 0.1).
        dict(
            neg=[0, 0, 0.02, 0.05, 0.08, 0.12, 0.2, 0.3, 0.45],
            num_expected=6,
            kwargs=dict(floor_thr=0.1, floor_fraction=0.5, num_bins=2),
        ),
        # The floor set is short: its two, and the rest of the quota comes from
        # the IoU set's leftovers (the last stage).
        dict(
            neg=[0, 0.05, 0.12, 0.15, 0.2, 0.3, 0.35, 0.4],
            num_expected=6,
            kwargs=dict(floor_thr=0.1, floor_fraction=0.5, num_bins=2),
        ),
    ],
)
def test_joint_distribution_equals_mmdet_steady_state(case):
    """Whole samples, not only per-index frequencies: a sampler could match
    MMDetection's marginals and still couple its draws differently."""
    from tests.task_modules.samplers.helpers import subset_pvalue, tiny_assign

    assign = tiny_assign(case['neg'], pos_ious=[0.9], pos_gts=[1])
    base = dict(num=512, pos_fraction=0.25, **case['kwargs'])
    ref = _mmdet_steady(base, assign)
    ours = IoUBalancedNegSampler(**base)
    n = case['num_expected']
    torch.manual_seed(0)
    p = subset_pvalue(
        lambda: ours._sample_neg(assign, n),
        lambda: ref._sample_neg(assign, n),
        trials=3000,
    )
    assert p > 1e-3, p
    # The test has power: a sampler that ignores the bins is told apart.
    uniform = MMDetRandomSampler(num=512, pos_fraction=0.25)
    p_uniform = subset_pvalue(
        lambda: uniform._sample_neg(assign, n),
        lambda: ref._sample_neg(assign, n),
        trials=3000,
    )
    assert p_uniform < 1e-6, p_uniform
