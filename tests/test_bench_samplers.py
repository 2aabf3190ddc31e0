"""benchmarks/bench_samplers.py --rpn: every sampler pair of the RPN step is
timed and reported at both scales."""

import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
bench_samplers = pytest.importorskip('benchmarks.bench_samplers')


def test_rpn_step_reports_both_scales(shapes_root, capsys):
    bench_samplers.rpn_step(repeats=2, data_root=shapes_root)
    rows = [
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.startswith(('| demo', '| COCO'))
    ]
    assert len(rows) == 8
    for scale in ('demo', 'COCO'):
        assert {r.split('|')[2].strip() for r in rows if scale in r} == {
            'ours / random',
            'mmdet / random',
            'random (A/A copy) / random',
            'ours / mmdet',
        }
