"""The balance statistics against hand computations, the paper's formulas
and MMDetection's own samplers and RoI extractor."""

import math

import pytest
import torch

from mmdet_libra_ext.analysis import balance as B


def test_hard_share_and_random_expectation_by_hand():
    a = torch.tensor([0.0, 0.1, 0.2, 0.0])
    b = torch.tensor([0.3])
    assert B.hard_share(a) == 0.5
    assert math.isnan(B.hard_share(torch.zeros(0)))
    # Image a gives 2 of its 4 (half of them hard in expectation), image b
    # its only one (hard): 2 of 3 expected hard.
    assert B.random_sample_share([a, b], [2, 5]) == pytest.approx(2 / 3)
    assert math.isnan(B.random_sample_share([a], [0]))


def test_random_expectation_is_what_mmdetections_random_sampler_takes():
    from mmdet.models.task_modules.assigners import AssignResult
    from mmdet.models.task_modules.samplers import RandomSampler
    from mmengine.structures import InstanceData

    torch.manual_seed(0)
    n = 400
    iou = torch.rand(n) * 0.5
    iou[:150] = 0
    gt_inds = torch.zeros(n, dtype=torch.long)
    gt_inds[:10] = 1
    iou[:10] = 0.8
    assign = AssignResult(1, gt_inds, iou, labels=torch.zeros(n).long())
    sampler = RandomSampler(
        num=64, pos_fraction=0.25, add_gt_as_proposals=False
    )
    priors = InstanceData(priors=torch.rand(n, 4))
    gt = InstanceData(bboxes=torch.rand(1, 4), labels=torch.zeros(1).long())
    taken = []
    for _ in range(400):
        res = sampler.sample(assign, priors, gt)
        taken.append(iou[res.neg_inds])
    quota = len(res.neg_inds)
    expected = B.random_sample_share([iou[gt_inds == 0]], [quota])
    empirical = B.hard_share(torch.cat(taken))
    assert empirical == pytest.approx(expected, abs=0.01)


def test_histogram_and_total_variation_by_hand():
    edges = torch.tensor([0.0, 0.1, 0.2, 0.5])
    h = B.histogram(torch.tensor([0.0, 0.05, 0.15, 0.5, 0.7]), edges)
    # 0.5 falls in the closed last bin, 0.7 is clamped into it.
    assert h.tolist() == pytest.approx([0.4, 0.2, 0.4])
    assert B.total_variation(h, h) == 0
    assert B.total_variation(
        torch.tensor([1.0, 0, 0]), torch.tensor([0, 0, 1.0])
    ) == pytest.approx(1)
    mix = B.weighted_histogram(
        [torch.tensor([0.0]), torch.tensor([0.3])], [3, 1], edges
    )
    assert mix.tolist() == pytest.approx([0.75, 0, 0.25])
    room = B.room_to_balance(
        torch.tensor([0.75, 0, 0.25]),
        torch.tensor([0.25, 0.25, 0.5]),
        0.25,
        0.75,
    )
    assert room == pytest.approx(dict(tv_distance=0.5, hard_share_gain=0.5))


def test_roi_levels_are_mmdetections():
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    ext = SingleRoIExtractor(
        roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
        out_channels=8,
        featmap_strides=[4, 8, 16, 32],
    )
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=g) * 500
    wh = torch.exp(torch.rand(200, 2, generator=g) * 6)
    boxes = torch.cat([xy, xy + wh], 1)
    rois = torch.cat([torch.zeros(200, 1), boxes], 1)
    assert torch.equal(
        B.roi_levels(boxes, 4, 56.0), ext.map_roi_levels(rois, 4)
    )
    # By hand: sqrt(area) 56 -> level 0 (log2(1)=0), 112 -> 1, 500 -> 3.
    by_hand = torch.tensor(
        [[0, 0, 56, 56], [0, 0, 112, 112], [0, 0, 500, 500]], dtype=float
    )
    assert B.roi_levels(by_hand, 4).tolist() == [0, 1, 3]


def test_gt_levels_from_priors_by_hand():
    # gt 0: two priors on level 1, one on level 0; gt 1: one on each of
    # levels 2 and 3 (a tie: the finer); gt 2: none.
    pos_gt = torch.tensor([0, 0, 0, 1, 1])
    pos_lv = torch.tensor([1, 1, 0, 2, 3])
    lv = B.gt_levels_from_priors(pos_gt, pos_lv, 3, 4)
    assert lv.tolist() == [1, 2, -1]
    boxes = torch.tensor(
        [[0, 0, 10, 40], [0, 0, 30, 30], [0, 0, 5, 5]], dtype=torch.float
    )
    table = B.level_table(lv, boxes, 4)
    assert [r['count'] for r in table] == [0, 1, 1, 0]
    assert table[1]['median_size'] == pytest.approx(20)
    assert table[2]['median_size'] == pytest.approx(30)
    assert math.isnan(table[0]['median_size'])


def test_inlier_split_under_smooth_l1_is_the_closed_form():
    from mmdet.models.losses import SmoothL1Loss

    x = torch.tensor([0.2, 0.5, 1.0, 2.0, 3.0])
    g = B.loss_gradients(SmoothL1Loss(beta=1.0), torch.zeros(5), x)
    # Loss 0.5 x^2 below 1, |x| - 0.5 above: 0.02 0.125 0.5 1.5 2.5;
    # outliers (loss >= 1): x = 2 and 3. Gradient min(|x|, 1).
    assert g['loss'].tolist() == pytest.approx([0.02, 0.125, 0.5, 1.5, 2.5])
    assert g['grad'].tolist() == pytest.approx([0.2, 0.5, 1.0, 1.0, 1.0])
    split = B.inlier_split(g['loss'], g['grad'])
    assert split['outlier_share'] == pytest.approx(2 / 5)
    assert split['inlier_grad_share'] == pytest.approx(1.7 / 3.7)
    assert split['inlier_outlier_grad_ratio'] == pytest.approx(1.7 / 3)


def test_inlier_split_under_balanced_l1_is_the_papers_gradient():
    from mmdet_libra_ext.models.losses import BalancedL1Loss

    x = torch.tensor([0.2, 0.5, 0.9, 2.0])
    alpha, gamma = 0.5, 1.5
    b = math.exp(gamma / alpha) - 1
    grad = [alpha * math.log(b * v + 1) if v < 1 else gamma for v in x]
    g = B.loss_gradients(
        BalancedL1Loss(alpha=alpha, gamma=gamma, beta=1.0),
        torch.zeros(4),
        x,
    )
    assert g['grad'].tolist() == pytest.approx(grad, rel=1e-6)
    out = torch.tensor([False, False, False, True])
    split = B.inlier_split(g['loss'], g['grad'], out)
    assert split['inlier_grad_share'] == pytest.approx(
        sum(grad[:3]) / sum(grad)
    )
    assert split['inlier_outlier_grad_ratio'] == pytest.approx(
        sum(grad[:3]) / 3 / gamma
    )


def test_a_loss_per_box_gives_one_gradient_per_box():
    from mmdet.models.losses import GIoULoss

    pred = torch.tensor([[0.0, 0, 10, 10], [5, 5, 20, 30]])
    target = torch.tensor([[1.0, 1, 11, 12], [0, 0, 20, 20]])
    g = B.loss_gradients(GIoULoss(), pred, target)
    assert g['loss'].shape == (2,) and g['grad'].shape == (2,)
    p = pred.double().requires_grad_(True)
    GIoULoss()(p, target.double(), reduction_override='none').sum().backward()
    torch.testing.assert_close(g['grad'], p.grad.norm(dim=1))


def test_class_counts_and_imbalance_by_hand():
    c = B.class_counts([[0, 0, 1], [0], [2, 2, 2, 2]], 4)
    assert c == dict(instances=[3, 1, 4, 0], images=[2, 1, 1, 0])
    assert B.imbalance_ratio([3, 1, 4]) == 4
    assert math.isinf(B.imbalance_ratio(c['instances']))
    assert math.isnan(B.imbalance_ratio([]))
