"""Box statistics of the data-adaptive recipe against hand computations on
tiny box sets."""

import math

import pytest
import torch

from mmdet_libra_ext.analysis import box_stats as S


def test_centred_iou_and_best_possible_recall_by_hand():
    wh = torch.tensor([[20.0, 20.0], [64.0, 32.0]])
    anchors = torch.tensor([[16.0, 16.0], [64.0, 64.0]])
    iou = S.centred_iou(wh, anchors)
    # 16x16 inside 20x20: 256 / 400; 20x20 inside 64x64: 400 / 4096;
    # 64x32 with 16x16: 256 / 2048; with 64x64: 2048 / 4096.
    expected = [[256 / 400, 400 / 4096], [256 / 2048, 2048 / 4096]]
    torch.testing.assert_close(iou, torch.tensor(expected))
    r = S.best_possible_recall(wh, anchors, 0.5)
    assert r['bpr'] == 1.0
    assert r['mean_best_iou'] == pytest.approx((0.64 + 0.5) / 2)
    assert S.best_possible_recall(wh, anchors, 0.6)['bpr'] == 0.5
    assert math.isnan(S.best_possible_recall(wh[:0], anchors, 0.5)['bpr'])


def test_generator_shapes_are_mmdetections_base_anchors():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator

    gen = AnchorGenerator(strides=[8, 16], ratios=[0.5, 1.0], scales=[4])
    shapes = S.generator_shapes(gen)
    # Base 8 and 16 px times scale 4: 32 and 64 px squares; ratio h/w 0.5
    # keeps the area: w = 32 * sqrt(2), h = 32 / sqrt(2).
    r = math.sqrt(2)
    expected = [[32 * r, 32 / r], [32, 32], [64 * r, 64 / r], [64, 64]]
    torch.testing.assert_close(shapes, torch.tensor(expected))


def test_input_scale_by_hand():
    # Sizes 10..100 px (squares): p10 19, p50 55, p90 91.
    sizes = torch.arange(10, 101).float()
    wh = torch.stack([sizes, sizes], 1)
    s = S.choose_input_scale(wh, 400, smallest=24, largest=320)
    # 24 / 19 = 1.263, rounded to a sixteenth: 1.25.
    assert s['size_p10'] == pytest.approx(19)
    assert s['scale'] == 1.25
    # Large objects: 90th percentile 910 px, at most 320 -> 0.3516,
    # rounded to a sixteenth: 0.375 (the long side, 750 px, within 1333).
    s = S.choose_input_scale(wh * 10, 2000, smallest=24, largest=320)
    assert s['scale'] == 0.375
    # Objects that fit as they are: no resize.
    s = S.choose_input_scale(wh * 2, 800)
    assert s['scale'] == 1.0
    # The long side caps the factor even for small objects.
    s = S.choose_input_scale(wh / 4, 1000, max_long_side=1333)
    assert s['scale'] == pytest.approx(1.3125)
    # Rounding never takes the long side past the cap: 1333 / 2000 =
    # 0.6665 rounds to 0.6875 (1375 px), so it is rounded down, 0.625.
    s = S.choose_input_scale(wh * 5, 2000, max_long_side=1333)
    assert s['scale'] == 0.625 and s['long_side'] <= 1333


def test_anchors_kept_when_they_fit_and_fitted_when_not():
    gen = dict(
        type='AnchorGenerator', strides=[8, 16, 32], ratios=[1.0], scales=[8]
    )
    # Anchors 64, 128, 256 px: 64 px boxes fit exactly.
    fit = S.choose_anchors(torch.full((10, 2), 64.0), gen)
    assert not fit['changed'] and fit['cfg'] == gen
    assert fit['before']['bpr'] == 1.0
    # 20 px boxes: best IoU 400 / 4096 with the 64 px anchor. The nearest
    # quarter-octave multiplier, 2^(-7/4) (anchors 19.0 px), fits best.
    fit = S.choose_anchors(torch.full((10, 2), 20.0), gen)
    assert fit['changed']
    assert fit['before']['bpr'] == 0.0
    assert fit['cfg']['scales'] == [round(8 * 2 ** (-7 / 4), 3)]
    assert fit['after']['bpr'] == 1.0
    assert fit['cfg']['strides'] == gen['strides']
    # Tall boxes: the ratios follow the boxes' aspect ratios.
    tall = torch.tensor([[20.0, 80.0]] * 10)
    gen3 = dict(gen, ratios=[0.5, 1.0, 2.0])
    fit = S.choose_anchors(tall, gen3, thr=0.7)
    assert fit['after']['bpr'] == 1.0
    assert len(fit['cfg']['ratios']) == 3


def test_resize_factors_are_what_mmdetections_resize_does():
    """The factors by hand, and equal to what MMDetection's Resize does to
    an image's boxes."""
    import numpy as np
    from mmdet.datasets.transforms import Resize

    # keep_ratio into (1333, 800): 640 x 480 -> min(1333/640, 800/480).
    r = Resize(scale=(1333, 800), keep_ratio=True)
    assert S.resize_factors(r, (640, 480)) == pytest.approx((5 / 3, 5 / 3))
    # Not keeping the ratio: each axis to its side.
    r2 = Resize(scale=(320, 480), keep_ratio=False)
    assert S.resize_factors(r2, (640, 480)) == pytest.approx((0.5, 1.0))
    # A scale factor; an image of unknown size is left as it is.
    r3 = Resize(scale_factor=1.5, keep_ratio=True)
    assert S.resize_factors(r3, (640, 480)) == pytest.approx((1.5, 1.5))
    assert S.resize_factors(r, (0, 0)) == (1.0, 1.0)
    boxes = torch.tensor([[10.0, 20.0, 110.0, 70.0]])
    for t, size in ((r, (640, 480)), (r2, (640, 480)), (r3, (300, 200))):
        out = t(
            dict(
                img=np.zeros((size[1], size[0], 3), np.uint8),
                gt_bboxes=boxes.numpy().copy(),
            )
        )
        wh, med = S.resized_wh([([0], boxes, size)], t)
        got = out['gt_bboxes']
        got = torch.as_tensor(getattr(got, 'tensor', got))
        # MMDetection rounds the image to whole pixels: factors agree to
        # within a pixel of the image's side.
        torch.testing.assert_close(wh, S.box_wh(got), rtol=2e-3, atol=0.1)
        fx, fy = S.resize_factors(t, size)
        assert med == pytest.approx(math.sqrt(fx * fy))


def test_density_and_detection_cap_by_hand():
    """Boxes per megapixel of the densest image with a known size, and the
    cap that keeps twice its boxes in a larger image."""
    one, two = torch.zeros(1, 4), torch.zeros(2, 4)
    images = [
        ([0], one, (1000, 1000)),  # 1 per megapixel
        ([0, 0], two, (500, 400)),  # 2 in 0.2 Mpx: 10 per megapixel
        ([0, 0], two, (0, 0)),  # size unknown: not counted
    ]
    assert S.boxes_per_mpx(images) == pytest.approx(10.0)
    assert S.boxes_per_mpx([([0], one, (0, 0))]) == 0.0
    # 10 per Mpx in 1.29 Mpx, twice: 25.8 -> 26.
    assert S.detection_cap(10.0, 1_290_000) == 26
    assert S.detection_cap(10.0, 1_290_000, margin=1.0) == 13


def test_long_side_by_hand():
    # Boxes a tenth to a half of their image's long side (rel 0.1..0.5:
    # p10 0.14, p50 0.3, p90 0.46); images of long sides 200..1000.
    rel = torch.linspace(0.1, 0.5, 101)
    sides = [200, 400, 600, 800, 1000]
    assert S.long_side_spread(sides) == pytest.approx(920 / 280)
    s = S.choose_input_long_side(rel, sides, smallest=24, largest=320)
    # The median long side 600 (objects p90 0.46 * 600 = 276 <= 320 and
    # p10 0.14 * 600 = 84 >= 24): kept, rounded down to 16 px.
    assert s['mode'] == 'long_side' and s['long_side'] == 592
    assert s['size_p90'] == pytest.approx(0.46 * 592)
    assert s['image_long_p10'] == pytest.approx(280)
    # Large objects lower it: 200 / 0.46 = 434.8 -> 432 (16 px steps).
    s = S.choose_input_long_side(rel, sides, smallest=24, largest=200)
    assert s['long_side'] == 432
    # Small objects raise it, and win a conflict: 100 / 0.14 = 714.3.
    s = S.choose_input_long_side(rel, sides, smallest=100, largest=120)
    assert s['long_side'] == 704
    # Never past max_long_side.
    s = S.choose_input_long_side(rel, sides, 300, 600, max_long_side=1333)
    assert s['long_side'] == 1328
