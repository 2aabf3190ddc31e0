"""benchmarks/bench_e2e.py times the components alone by redoing the calls
they made in real training iterations: the recorded calls must be exactly
those of an iteration, redo real work, and leave the detector as it was."""
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'benchmarks'))

bench_e2e = pytest.importorskip('bench_e2e')


def test_component_calls_redo_the_iterations_calls(shapes_root):
    config = osp.join(ROOT, 'configs', 'demo',
                      'libra-faster-rcnn_r18_fpn_shapes_demo.py')
    model, optim, batches = bench_e2e.build_training(config, shapes_root, 1)
    finish = bench_e2e.component_calls(model)
    model.train_step(batches[0], optim)
    calls = finish()
    # The recorders are gone: the class methods run again.
    assert 'forward' not in vars(model.neck[1])
    assert 'sample' not in vars(model.roi_head.bbox_sampler)
    assert 'forward' not in vars(model.roi_head.bbox_head.loss_bbox)
    # One BFP, one sampler call per image, one box loss.
    images = len(batches[0]['inputs'])
    assert len(calls) == images + 2
    assert [c[0] for c in calls] == \
        ['BFP'] + ['RoI sampler'] * images + ['box loss']
    bfp_inputs = calls[0][1]()
    calls[0][2](bfp_inputs)
    assert all(x.grad is not None for x in bfp_inputs)
    _, prepare, run = calls[1]
    assign = prepare()
    result = run(assign)
    assert result.pos_inds.numel() + result.neg_inds.numel() == 128
    assert prepare() is not assign  # each repeat gets a fresh copy
    pred = calls[-1][1]()
    calls[-1][2](pred)
    assert pred.grad is not None and bool(torch.isfinite(pred.grad).all())


def test_paired_ratio_median_and_interval():
    from common import paired_ratio
    a = [2.0, 3.0, 4.0, 5.0, 6.0]
    b = [1.0, 1.0, 2.0, 2.0, 4.0]  # per-round ratios 2, 3, 2, 2.5, 1.5
    med, lo, hi = paired_ratio(a, b)
    assert med == 2.0
    assert 1.5 <= lo <= med <= hi <= 3.0
    assert paired_ratio([3.0] * 9, [2.0] * 9) == (1.5, 1.5, 1.5)
    # Deterministic (seeded resampling).
    assert paired_ratio(a, b) == (med, lo, hi)
