"""benchmarks/bench_e2e.py times the components alone by redoing the calls
they made in real training iterations: the recorded calls must be exactly
those of an iteration, redo real work, and leave the detector as it was."""

import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
bench_e2e = pytest.importorskip('benchmarks.bench_e2e')


def test_component_calls_redo_the_iterations_calls(shapes_root):
    config = osp.join(
        ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
    )
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
    assert [c[0] for c in calls] == ['BFP'] + ['RoI sampler'] * images + [
        'box loss'
    ]
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
    from benchmarks.common import paired_ratio

    a = [2.0, 3.0, 4.0, 5.0, 6.0]
    b = [1.0, 1.0, 2.0, 2.0, 4.0]  # per-round ratios 2, 3, 2, 2.5, 1.5
    med, lo, hi = paired_ratio(a, b)
    assert med == 2.0
    assert 1.5 <= lo <= med <= hi <= 3.0
    assert paired_ratio([3.0] * 9, [2.0] * 9) == (1.5, 1.5, 1.5)
    # Deterministic (seeded resampling).
    assert paired_ratio(a, b) == (med, lo, hi)


def test_rpn_sampler_rounds_swap_only_the_rpn_sampler(
    shapes_root, capsys, monkeypatch
):
    config = osp.join(
        ROOT, 'configs', 'demo', 'libra-rpn_r18_fpn_shapes_demo.py'
    )
    built = {}
    original = bench_e2e.build_training

    def recording(cfg, data_root, iters, modify=None):
        run = original(cfg, data_root, iters, modify=modify)
        built[len(built)] = run[0].bbox_head.sampler
        return run

    monkeypatch.setattr(bench_e2e, 'build_training', recording)
    bench_e2e.rpn_sampler_rounds([config], shapes_root, repeats=1, iters=1)
    kinds = [
        (
            type(s).__module__.split('.')[0],
            type(s).__name__,
            type(getattr(s, 'neg_sampler', s)).__module__.split('.')[0],
        )
        for s in built.values()
    ]
    assert kinds == [
        ('mmdet', 'CombinedSampler', 'mmdet_libra_ext'),
        ('mmdet', 'CombinedSampler', 'mmdet'),
        ('mmdet', 'RandomSampler', 'mmdet'),
        ('mmdet', 'RandomSampler', 'mmdet'),
    ]
    row = [
        ln
        for ln in capsys.readouterr().out.splitlines()
        if ln.startswith('| libra-rpn_')
    ]
    assert len(row) == 1 and row[0].count('[') == 4


def _whole(config, shapes_root, capsys):
    """The output of ``--whole`` timing ``config`` against itself (2
    rounds of 1 iteration on the shapes data)."""
    bench_e2e.main(
        [
            '--whole',
            '--ours',
            config,
            '--ref',
            config,
            '--data-root',
            shapes_root,
            '--repeats',
            '2',
            '--iters',
            '1',
        ]
    )
    return capsys.readouterr().out


def test_whole_iterations_of_any_two_detectors(shapes_root, capsys):
    """--whole: detectors without the Libra components (here the demo
    baseline against itself) timed whole, with the A/A control and the
    profile by module; no component breakdown is attempted."""
    base = osp.join(bench_e2e.DEMO, 'faster-rcnn_r18_fpn_shapes_demo.py')
    out = _whole(base, shapes_root, capsys)
    assert f'iteration time, {base} / {base}' in out
    assert 'A/A' in out and '| backbone |' in out
    assert 'The components alone' not in out
    cell = out.split(f'{base} / {base} (median')[1].split('|')[1]
    ratio = float(cell.split()[0])
    assert 0.3 < ratio < 3.0


def test_a_configs_alwa_hook_is_part_of_its_iteration(shapes_root):
    """build_training installs the config's ALWA hook as the runner's
    before_train does: the detector's loss processing is the hook's (its
    weights are applied and its steps counted), so --whole times ALWA's
    iteration, not the detector's without it."""
    from mmdet_libra_ext.engine.hooks import ALWAHook

    alwa = osp.join(bench_e2e.DEMO, 'alwa-faster-rcnn_r18_fpn_shapes_demo.py')
    model, optim, batches = bench_e2e.build_training(alwa, shapes_root, 1)
    hook = model._alwa_hook
    assert isinstance(hook, ALWAHook)
    model.train_step(batches[0], optim)
    assert hook.state_dict()['steps'] == 1
    plain = osp.join(bench_e2e.DEMO, 'faster-rcnn_r18_fpn_shapes_demo.py')
    model, _, _ = bench_e2e.build_training(plain, shapes_root, 1)
    assert getattr(model, '_alwa_hook', None) is None


def test_whole_iterations_of_one_stage_detectors(shapes_root, capsys):
    """--whole on a one-stage detector (no RPN, no RoI head): its profile
    names the dense head and its losses, and the forward parts with the
    backward pass make the whole iteration."""
    retina = osp.join(bench_e2e.DEMO, 'libra-retinanet_r18_fpn_shapes_demo.py')
    out = _whole(retina, shapes_root, capsys)
    assert 'A/A' in out and 'RPN head' not in out
    shares = {}
    for line in out.split('by module')[1].splitlines():
        cells = line.split('|')[1:-1]
        if len(cells) == 3 and cells[1].strip().endswith('%'):
            # '| name |': the name keeps its indentation (nested parts).
            shares[cells[0][1:-1]] = float(cells[1].strip()[:-1])
    dense = shares[bench_e2e.DENSE_PART]
    assert dense > 0
    # The losses are timed inside the dense head: each listed, within its
    # share (printed to 0.1 %: a loss can read 0.0 % on a busy machine).
    losses = shares['  loss_cls'] + shares['  loss_bbox']
    assert shares['  loss_cls'] >= 0 and shares['  loss_bbox'] >= 0
    assert losses <= dense + 0.1
    # Each part listed before the parts nested in it.
    names = list(shares)
    assert names.index(bench_e2e.DENSE_PART) < names.index('  loss_cls')
    top = [k for k in shares if not k.startswith(' ')]
    assert sum(shares[k] for k in top) == pytest.approx(100, abs=0.5)
