"""End-to-end: MMDetection's own tools train, evaluate and resume our configs
on the embedded dataset."""

import ast
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

DEMO = osp.join(ROOT, 'configs', 'demo', 'faster-rcnn_r18_fpn_shapes_demo.py')
LIBRA_DEMO = osp.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)

from tests.tiny import tiny_options  # noqa: E402


def run(cmd, cwd):
    out = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def scalars(work_dir):
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    )
    return [json.loads(line) for f in files for line in open(f)]


def test_build_stock_faster_rcnn_with_plugin_imported():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    import mmdet

    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmdet.__file__),
            '.mim',
            'configs',
            'faster_rcnn',
            'faster-rcnn_r50_fpn_1x_coco.py',
        )
    )
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'FasterRCNN'
    assert type(model).__module__.startswith('mmdet.')


@pytest.mark.slow
def test_train_evaluate_resume_with_tools_train(
    shapes_root, mmdet_tools, tmp_path
):
    train = osp.join(mmdet_tools, 'train.py')
    work = str(tmp_path / 'work')
    log = run(
        [sys.executable, train, DEMO, '--work-dir', work]
        + tiny_options(shapes_root, epochs=1),
        cwd=ROOT,
    )
    assert 'coco/bbox_mAP' in log
    ckpt = osp.join(work, 'epoch_1.pth')
    # The checkpoint loads with weights_only=True, without the plugin's
    # allow-list and in a process that never imported it.
    code = (
        f'import torch; c = torch.load({ckpt!r}, weights_only=True, '
        'map_location="cpu"); print(sorted(c))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'message_hub' in out.stdout and 'state_dict' in out.stdout
    # Resume and continue one more epoch.
    log = run(
        [sys.executable, train, DEMO, '--work-dir', work, '--resume']
        + tiny_options(shapes_root, epochs=2),
        cwd=ROOT,
    )
    assert 'resumed epoch: 1, iter: 2' in log
    records = scalars(work)
    iters = [r['iter'] for r in records if 'loss' in r]
    assert iters[-1] == 4 and 3 in iters
    assert all(
        torch.isfinite(torch.tensor(r['loss'])) for r in records if 'loss' in r
    )
    # The resumed message hub continued its histories (the logged 'time'
    # buffer is restored, not restarted).
    from mmdet_libra_ext.utils import from_weights_only

    hub = from_weights_only(
        torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)[
            'message_hub'
        ]
    )
    assert len(hub['log_scalars']['train/loss']._log_history) == 4


@pytest.mark.slow
def test_mim_train(shapes_root, tmp_path):
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    work = str(tmp_path / 'work')
    log = run(
        [mim, 'train', 'mmdet', LIBRA_DEMO, '--work-dir', work]
        + tiny_options(shapes_root, epochs=1),
        cwd=ROOT,
    )
    assert 'coco/bbox_mAP' in log
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.slow
def test_libra_retinanet_demo_trains(shapes_root, mmdet_tools, tmp_path):
    cfg = osp.join(
        ROOT, 'configs', 'demo', 'libra-retinanet_r18_fpn_shapes_demo.py'
    )
    work = str(tmp_path / 'work')
    log = run(
        [
            sys.executable,
            osp.join(mmdet_tools, 'train.py'),
            cfg,
            '--work-dir',
            work,
        ]
        + tiny_options(shapes_root, epochs=1),
        cwd=ROOT,
    )
    # Evaluation ran (after 2 iterations from scratch there may be no
    # detection above the score threshold, hence no mAP line).
    assert 'Epoch(val) [1][1/1]' in log
    losses = [r for r in scalars(work) if 'loss' in r]
    assert losses and all(
        torch.isfinite(torch.tensor(r['loss'])) for r in losses
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    'name, key',
    [
        ('libra-rpn', 'coco/AR@1000'),
        ('libra-faster-rcnn-libra-rpn', 'coco/bbox_mAP'),
    ],
)
def test_libra_rpn_demos_train_and_evaluate(
    shapes_root, mmdet_tools, tmp_path, name, key
):
    """The Libra RPN (evaluated by proposal recall) and the Libra Faster
    R-CNN with a Libra RPN, with MMDetection's tools/train.py; the sampler
    in the RPN is ours."""
    cfg = osp.join(ROOT, 'configs', 'demo', f'{name}_r18_fpn_shapes_demo.py')
    work = str(tmp_path / 'work')
    run(
        [
            sys.executable,
            osp.join(mmdet_tools, 'train.py'),
            cfg,
            '--work-dir',
            work,
        ]
        + tiny_options(shapes_root, epochs=1, val_images=8),
        cwd=ROOT,
    )
    assert (
        "'mmdet_libra_ext.IoUBalancedNegSampler'"
        in open(glob.glob(osp.join(work, '*.py'))[0]).read()
    )
    val = [r for r in scalars(work) if key in r]
    assert len(val) == 1
    if key.startswith('coco/AR'):
        ar = [val[0][f'coco/AR@{n}'] for n in (100, 300, 1000)]
        assert 0 <= ar[0] <= ar[1] <= ar[2] <= 1
    losses = [r for r in scalars(work) if 'loss' in r]
    assert losses and all(
        torch.isfinite(torch.tensor(r['loss_rpn_bbox'])) for r in losses
    )


@pytest.mark.slow
def test_alwa_demo_trains_logs_and_resumes(shapes_root, mmdet_tools, tmp_path):
    cfg = osp.join(
        ROOT,
        'configs',
        'demo',
        'alwa-libra-faster-rcnn_r18_fpn_shapes_demo.py',
    )
    train = osp.join(mmdet_tools, 'train.py')
    work = str(tmp_path / 'work')
    alwa = ['custom_hooks.1.interval=2']
    run(
        [sys.executable, train, cfg, '--work-dir', work]
        + tiny_options(shapes_root, epochs=1, extra=alwa),
        cwd=ROOT,
    )
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    state = ckpt['alwa']
    assert sorted(state['weights']) == ['loss_cls', 'loss_rpn_cls']
    assert state['steps'] == 2
    records = [r for r in scalars(work) if 'loss' in r]
    for key in (
        'alwa_rpn_cls_weight',
        'alwa_cls_weight',
        'alwa_cls_raw',
        'alwa_bbox_raw',
        'alwa_rpn_bbox_raw',
    ):
        assert all(key in r for r in records), key
    # The logged total does not include the logged ALWA values.
    r = records[-1]
    assert r['loss'] == pytest.approx(
        r['loss_rpn_cls']
        + r['loss_rpn_bbox']
        + r['loss_cls']
        + r['loss_bbox'],
        rel=1e-3,
        abs=1e-3,
    )
    # Resume: the weights continue from the checkpoint, not from 1.
    run(
        [sys.executable, train, cfg, '--work-dir', work, '--resume']
        + tiny_options(shapes_root, epochs=2, extra=alwa),
        cwd=ROOT,
    )
    resumed = [r for r in scalars(work) if 'loss' in r and r['iter'] == 3]
    assert resumed[-1]['alwa_cls_weight'] == pytest.approx(
        state['weights']['loss_cls'], rel=1e-4
    )
    assert resumed[-1]['alwa_rpn_cls_weight'] == pytest.approx(
        state['weights']['loss_rpn_cls'], rel=1e-4
    )
    # The report draws the weight trace and the raw/weighted losses.
    log = run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'analysis_tools', 'report.py'),
            work,
        ],
        cwd=ROOT,
    )
    assert 'COCO box mAP' in log
    for png in ('losses.png', 'loss_weights.png', 'alwa_losses.png'):
        assert osp.getsize(osp.join(work, 'report', png)) > 5000
    # Several runs' weight traces side by side (here the same run again):
    # one column of panels up to 6 runs, two columns beyond.
    import matplotlib.image

    for n, width in ((2, 700), (7, 1400)):
        traces = str(tmp_path / f'traces{n}.png')
        log = run(
            [
                sys.executable,
                osp.join(ROOT, 'tools', 'analysis_tools', 'report.py'),
                '--traces',
                *[work] * n,
                '--labels',
                'a=1: x',
                *'bcdefg'[: n - 1],
                '--out',
                traces,
            ],
            cwd=ROOT,
        )
        assert 'ALWA weight traces' in log and osp.getsize(traces) > 5000
        assert matplotlib.image.imread(traces).shape[1] == width


ALWA_LIBRA_DEMO = osp.join(
    ROOT, 'configs', 'demo', 'alwa-libra-faster-rcnn_r18_fpn_shapes_demo.py'
)
# Exact resume (every loop, workers, ranks, SIGKILL): tests/test_resume_e2e.py


@pytest.mark.slow
def test_amp_bfloat16_training_on_cpu(shapes_root, mmdet_tools, tmp_path):
    """--amp with bfloat16 autocast: the Libra + ALWA demo trains with
    finite losses and evaluates (MMDetection's AmpOptimWrapper; see
    tests/train_cpu_amp.py for the two mmengine/mmcv CPU limits it works
    around; this package's components run unpatched)."""
    work = str(tmp_path / 'work')
    log = run(
        [
            sys.executable,
            osp.join(ROOT, 'tests', 'train_cpu_amp.py'),
            osp.join(mmdet_tools, 'train.py'),
            ALWA_LIBRA_DEMO,
            '--work-dir',
            work,
            '--amp',
        ]
        + tiny_options(
            shapes_root,
            epochs=1,
            extra=[
                'optim_wrapper.dtype=bfloat16',
                'custom_hooks.1.interval=2',
            ],
        ),
        cwd=ROOT,
    )
    assert (
        'AmpOptimWrapper'
        in open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    )
    line = [
        ln
        for ln in log.splitlines()
        if ln.startswith('TRAINING_OUTPUT_DTYPES ')
    ][-1]
    counts = ast.literal_eval(line.split(' ', 1)[1])
    # Training forward passes ran in bfloat16 (float32 where autocast keeps
    # it, e.g. the fused losses' inputs are upcast inside the losses).
    assert counts.get('torch.bfloat16', 0) > 50
    records = [r for r in scalars(work) if 'loss' in r]
    assert len(records) == 2
    for r in records:
        for k, v in r.items():
            if k.startswith(('loss', 'alwa_')):
                assert torch.isfinite(torch.tensor(v)), (k, v)
    assert 'Epoch(val) [1][1/1]' in log
