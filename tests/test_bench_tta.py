"""benchmarks/bench_tta.py: the fusion of this package against
MMDetection's on the same views, with the A/A control."""

import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
bench_tta = pytest.importorskip('benchmarks.bench_tta')


def test_reports_the_three_ratios(capsys):
    utils = pytest.importorskip('mmdet.models.utils')
    if not hasattr(utils, 'weighted_boxes_fusion'):
        pytest.skip('MMDetection < 3.3 has no weighted_boxes_fusion')
    bench_tta.main(['--repeats', '2'])
    rows = [
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.startswith('| 4')
    ]
    assert [r.split('|')[1].split(': ')[1].strip() for r in rows] == [
        'ours / mmdet',
        'mmdet (A/A copy) / mmdet',
        'ours / DetTTAModel NMS',
    ]
    for r in rows:
        assert float(r.split('|')[2]) > 0


def test_views_are_what_the_docstring_says():
    views = bench_tta.make_views()
    assert len(views) == 4
    for boxes, scores, labels in views:
        assert boxes.shape == (100, 4) and len(scores) == len(labels) == 100
        assert (boxes[:, 2:] > boxes[:, :2]).all()
        assert set(labels) <= {0, 1, 2}
