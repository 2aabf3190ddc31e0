"""Weighted boxes fusion: against cases worked out by hand, against the
reference implementation MMDetection 3.3 ships (for boxes normalised to
[0, 1]) on random views, and WBFTTAModel undoing each view's flip."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmdet_libra_ext.models.test_time_augs import (
    WBFTTAModel,
    weighted_boxes_fusion,
)
from mmdet_libra_ext.registry import MODELS

try:
    from mmdet.models.utils import weighted_boxes_fusion as mmdet_wbf
except ImportError:  # MMDetection < 3.3 has no reference copy
    mmdet_wbf = None


class _Detector(torch.nn.Module):
    """What the TTA wrapper needs of its module (``merge_preds`` is what
    is tested; tools/test.py --tta runs a whole detector in
    tests/test_ablation_bccd.py)."""

    def test_step(self, data):
        raise NotImplementedError


def _fuse(boxes, scores, labels, num_views, **kw):
    t = torch.tensor
    return weighted_boxes_fusion(
        t(boxes, dtype=torch.float32),
        t(scores, dtype=torch.float32),
        t(labels),
        num_views,
        **kw,
    )


def test_two_views_one_object_by_hand():
    # The same cell seen by two views, scores 0.9 and 0.6: the fused box is
    # the score-weighted mean, its score the mean (both views found it).
    a, b = [10.0, 10.0, 50.0, 50.0], [12.0, 8.0, 52.0, 48.0]
    boxes, scores, labels = _fuse([a, b], [0.9, 0.6], [0, 0], 2)
    expect = (0.9 * np.array(a) + 0.6 * np.array(b)) / 1.5
    np.testing.assert_allclose(boxes.numpy(), [expect], rtol=1e-6)
    np.testing.assert_allclose(scores.numpy(), [0.75], rtol=1e-6)
    assert labels.tolist() == [0]


def test_a_box_one_view_of_four_finds_keeps_a_quarter_of_its_score():
    boxes, scores, _ = _fuse([[0, 0, 10, 10]], [0.8], [1], 4)
    np.testing.assert_allclose(scores.numpy(), [0.2], rtol=1e-6)
    # conf_type='max' keeps the score.
    _, scores, _ = _fuse([[0, 0, 10, 10]], [0.8], [1], 4, conf_type='max')
    np.testing.assert_allclose(scores.numpy(), [0.8], rtol=1e-6)


def test_classes_and_disjoint_boxes_stay_apart_sorted_by_score():
    box = [0.0, 0.0, 10.0, 10.0]
    far = [100.0, 100.0, 120.0, 120.0]
    boxes, scores, labels = _fuse(
        [box, box, far], [0.5, 0.9, 0.7], [0, 1, 0], 1
    )
    # One view: every score is its own.
    np.testing.assert_allclose(scores.numpy(), [0.9, 0.7, 0.5], rtol=1e-6)
    assert labels.tolist() == [1, 0, 0]
    np.testing.assert_allclose(boxes.numpy(), [box, far, box])


def test_iou_threshold_is_strict_and_matches_the_fused_box():
    # IoU of these two is exactly 0.5: fused above a threshold of 0.4,
    # kept apart at 0.5 (the reference requires IoU > iou_thr).
    a, b = [0.0, 0.0, 20.0, 10.0], [0.0, 0.0, 10.0, 10.0]
    assert len(_fuse([a, b], [0.9, 0.8], [0, 0], 2, iou_thr=0.4)[0]) == 1
    assert len(_fuse([a, b], [0.9, 0.8], [0, 0], 2, iou_thr=0.5)[0]) == 2


def test_more_boxes_than_views_in_a_cluster_score_their_mean():
    # Three boxes of one object from two views: the mean (0.6), not
    # sum / views (0.9).
    box = [0.0, 0.0, 10.0, 10.0]
    _, scores, _ = _fuse([box, box, box], [0.9, 0.6, 0.3], [0, 0, 0], 2)
    np.testing.assert_allclose(scores.numpy(), [0.6], rtol=1e-6)


def test_skip_thr_zero_area_and_empty_input():
    boxes, scores, labels = _fuse(
        [[0, 0, 10, 10], [5, 5, 5, 9], [0, 0, 10, 10]],
        [0.02, 0.9, 0.5],
        [0, 0, 0],
        1,
        skip_box_thr=0.05,
    )
    # The 0.02 box is skipped, the zero-width one left out.
    np.testing.assert_allclose(scores.numpy(), [0.5])
    empty = weighted_boxes_fusion(
        torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0, dtype=int), 4
    )
    assert [tuple(x.shape) for x in empty] == [(0, 4), (0,), (0,)]
    assert empty[2].dtype == torch.int64


@pytest.mark.parametrize(
    'kw, match',
    [
        (dict(iou_thr=1.0), 'iou_thr'),
        (dict(iou_thr=-0.1), 'iou_thr'),
        (dict(skip_box_thr=1.5), 'skip_box_thr'),
        (dict(iou_thr='0.5'), "iou_thr must be a number in .0, 1., got '0.5'"),
        (dict(conf_type='box_and_model_avg'), 'box_and_model_avg'),
    ],
)
def test_bad_arguments_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        _fuse([[0, 0, 1, 1]], [0.5], [0], 1, **kw)
    with pytest.raises(ValueError, match=match):
        WBFTTAModel(tta_cfg=kw, module=_Detector())


def test_bad_shapes_and_views_are_refused():
    with pytest.raises(ValueError, match='num_views'):
        _fuse([[0, 0, 1, 1]], [0.5], [0], 0)
    with pytest.raises(ValueError, match=r'\(n, 4\)'):
        weighted_boxes_fusion(
            torch.zeros(4), torch.zeros(1), torch.zeros(1), 1
        )
    with pytest.raises(ValueError, match='length'):
        weighted_boxes_fusion(
            torch.zeros((2, 4)), torch.zeros(1), torch.zeros(2), 1
        )


@pytest.mark.parametrize(
    'tta_cfg, match',
    [
        (dict(max_per_img=0), 'max_per_img'),
        (dict(max_per_img=2.5), 'max_per_img'),
        (dict(nms=dict(type='nms')), 'unknown'),
    ],
)
def test_bad_tta_cfg_is_refused(tta_cfg, match):
    with pytest.raises(ValueError, match=match):
        WBFTTAModel(tta_cfg=tta_cfg, module=_Detector())


@st.composite
def views(draw):
    """Up to 4 views of up to 6 objects each seen with jitter, plus clutter,
    in a 100 x 80 image: what fusion is for, clusters and strays."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    num_views = draw(st.integers(1, 4))
    objects = rng.uniform([0, 0, 10, 10], [60, 50, 40, 30], (6, 4))
    objects[:, 2:] += objects[:, :2]
    out = []
    for _ in range(num_views):
        seen = objects[rng.random(len(objects)) < 0.8]
        boxes = seen + rng.normal(0, 2.0, seen.shape)
        clutter = rng.uniform([0, 0, 5, 5], [80, 60, 20, 20], (3, 4))
        clutter[:, 2:] += clutter[:, :2]
        boxes = np.concatenate([boxes, clutter])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        boxes = np.clip(boxes, 0, [100, 80, 100, 80])
        out.append(
            (
                boxes,
                rng.uniform(0.05, 1.0, len(boxes)),
                rng.integers(0, 2, len(boxes)),
            )
        )
    return out


@pytest.mark.skipif(mmdet_wbf is None, reason='MMDetection < 3.3')
@settings(max_examples=60, deadline=None)
@given(
    views=views(),
    iou_thr=st.sampled_from([0.3, 0.55, 0.7]),
    conf_type=st.sampled_from(['avg', 'max']),
)
def test_equals_mmdetection_reference(views, iou_thr, conf_type):
    scale = np.array([100.0, 80.0, 100.0, 80.0])
    ref_b, ref_s, ref_l = mmdet_wbf(
        [b / scale for b, _, _ in views],
        [s for _, s, _ in views],
        [lab for _, _, lab in views],
        iou_thr=iou_thr,
        conf_type=conf_type,
    )
    t = torch.from_numpy
    boxes, scores, labels = weighted_boxes_fusion(
        t(np.concatenate([b for b, _, _ in views])),
        t(np.concatenate([s for _, s, _ in views])),
        t(np.concatenate([lab for _, _, lab in views])),
        len(views),
        iou_thr=iou_thr,
        conf_type=conf_type,
    )
    assert len(scores) == len(ref_s)
    # The reference sorts with an unstable argsort and sums in float32:
    # compare as sets of (label, score, box), ordered the same way.
    ours = np.c_[labels.numpy(), scores.numpy(), boxes.numpy() / scale]
    ref = np.c_[ref_l.numpy(), ref_s.numpy(), ref_b.numpy()]
    ours = ours[np.lexsort(ours[:, ::-1].T)]
    ref = ref[np.lexsort(ref[:, ::-1].T)]
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def _view(boxes, scores, labels, flip=False, direction=None):
    sample = DetDataSample(
        metainfo=dict(
            ori_shape=(80, 100),
            img_shape=(80, 100),
            flip=flip,
            flip_direction=direction,
        )
    )
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.tensor(scores),
        labels=torch.tensor(labels),
    )
    return sample


def test_tta_model_undoes_each_flip_and_fuses():
    model = MODELS.build(
        dict(
            type='mmdet_libra_ext.WBFTTAModel',
            module=_Detector(),
            tta_cfg=dict(max_per_img=2),
        )
    )
    box = [10.0, 20.0, 30.0, 50.0]  # x1, y1, x2, y2 in a 100 x 80 image
    h = [100 - 30.0, 20.0, 100 - 10.0, 50.0]
    v = [10.0, 80 - 50.0, 30.0, 80 - 20.0]
    d = [100 - 30.0, 80 - 50.0, 100 - 10.0, 80 - 20.0]
    stray = [60.0, 60.0, 70.0, 70.0]
    merged = model.merge_preds(
        [
            [
                _view([box, stray], [0.8, 0.9], [2, 2]),
                _view([h], [0.8], [2], True, 'horizontal'),
                _view([v], [0.8], [2], True, 'vertical'),
                _view([d], [0.8], [2], True, 'diagonal'),
            ]
        ]
    )[0].pred_instances
    # The four views agree on the cell (score 0.8); the stray one view saw
    # keeps a quarter of its score.
    np.testing.assert_allclose(merged.bboxes.numpy(), [box, stray], atol=1e-5)
    np.testing.assert_allclose(merged.scores.numpy(), [0.8, 0.225], rtol=1e-6)
    assert merged.labels.tolist() == [2, 2]


def test_max_per_img_keeps_the_best():
    model = WBFTTAModel(tta_cfg=dict(max_per_img=1), module=_Detector())
    far = [[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0]]
    merged = model.merge_preds([[_view(far, [0.3, 0.6], [0, 0])]])[0]
    np.testing.assert_allclose(merged.pred_instances.scores.numpy(), [0.6])
