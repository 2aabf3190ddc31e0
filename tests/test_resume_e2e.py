"""``--resume`` continues a run exactly, wherever a checkpoint was taken and
however the run was stopped (ResumableRandomnessHook, AtomicCheckpointHook,
WeightsOnlyCheckpointHook; MMDetection's tools/train.py throughout)."""

import glob
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.dirname(osp.abspath(__file__))
EPOCH_CFG = osp.join(
    ROOT, 'configs', 'demo', 'alwa-libra-faster-rcnn_r18_fpn_shapes_demo.py'
)
ITER_CFG = osp.join(TESTS, 'configs', 'iter-based-alwa-libra-demo.py')
MARKED_TRAIN = osp.join(TESTS, 'train_with_markers.py')

from mmdet_libra_ext.utils import checkpoint_problem  # noqa: E402
from tests.resume_checks import assert_same_end  # noqa: E402
from tests.tiny import tiny_options  # noqa: E402
from tests.tool_runs import train  # noqa: E402

# Deterministic kernels; 12 training images in batches of 4: 3 iterations
# per epoch (or pass over the data), so an ALWA window of 2 iterations is
# open at every epoch end.
COMMON = [
    'train_dataloader.dataset.indices=12',
    'custom_hooks.1.interval=2',
    'randomness.seed=7',
    'randomness.deterministic=True',
    'default_hooks.checkpoint.max_keep_ckpts=-1',
]


def epoch_options(shapes_root, val_interval=1, extra=()):
    """3 epochs; a checkpoint after every epoch."""
    return tiny_options(
        shapes_root,
        epochs=3,
        extra=COMMON
        + [f'train_cfg.val_interval={val_interval}']
        + list(extra),
    )


def iter_options(shapes_root, workers=0, extra=()):
    """8 iterations (the resume points 2, 4 and 6 lie inside passes over
    the data); validation after iterations 3 and 6 and the last; a
    checkpoint every 2 iterations; data loaded in the main process or by
    persistent workers."""
    return tiny_options(
        shapes_root,
        max_iters=8,
        extra=COMMON
        + [
            'train_cfg.val_interval=3',
            f'train_dataloader.num_workers={workers}',
            f'train_dataloader.persistent_workers={workers > 0}',
        ]
        + list(extra),
    )


#: loop type -> config, options, final checkpoint
LOOPS = {
    'epoch': (EPOCH_CFG, epoch_options, 'epoch_3.pth'),
    'iter': (ITER_CFG, iter_options, 'iter_8.pth'),
}


def logged(work):
    """{iteration: logged losses, accuracies and ALWA values}, the last
    record of each iteration."""
    out = {}
    for f in sorted(
        glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    ):
        for line in open(f):
            r = json.loads(line)
            if 'loss' in r:
                out[r['iter']] = {
                    k: v
                    for k, v in r.items()
                    if k.startswith(('loss', 'acc', 'alwa_'))
                }
    return out


@pytest.fixture(scope='module')
def uninterrupted(shapes_root, mmdet_tools, tmp_path_factory):
    """``uninterrupted(loop, setting)``: the work dir of the uninterrupted
    run (trained once per module and setting)."""
    done = {}

    def get(loop, setting):
        if (loop, setting) not in done:
            config, options, _ = LOOPS[loop]
            work = str(tmp_path_factory.mktemp(f'full_{loop}'))
            train(mmdet_tools, config, work, options(shapes_root, setting))
            done[loop, setting] = work
        return done[loop, setting]

    return get


def assert_resumed_exactly(full, resumed, start, final):
    a, b = logged(full), logged(resumed)
    assert sorted(b) == [i for i in sorted(a) if i > start]
    keys = a[max(a)].keys()
    assert {'loss_bbox', 'alwa_cls_weight', 'loss_rpn_cls'} <= set(keys)
    for it in b:
        for k in keys:
            assert a[it][k] == b[it][k], (it, k, a[it][k], b[it][k])
    assert_same_end(full, resumed, final)


@pytest.mark.slow
@pytest.mark.parametrize('val_interval', [1, 2])
def test_epoch_based_resume_is_exact(
    val_interval, shapes_root, mmdet_tools, uninterrupted, tmp_path
):
    """Resumed after epoch 1, with and without validation there (the ALWA
    window is open at the resume point)."""
    full, resumed = uninterrupted('epoch', val_interval), str(tmp_path)
    opts = epoch_options(shapes_root, val_interval)
    ckpt = torch.load(osp.join(full, 'epoch_1.pth'), weights_only=True)
    assert len(ckpt['alwa']['rows']) == 1  # mid-window
    train(
        mmdet_tools,
        EPOCH_CFG,
        resumed,
        opts,
        resume=osp.join(full, 'epoch_1.pth'),
    )
    assert_resumed_exactly(full, resumed, 3, 'epoch_3.pth')


@pytest.mark.slow
@pytest.mark.parametrize('workers', [0, 2])
def test_iter_based_resume_mid_epoch_is_exact(
    workers, shapes_root, mmdet_tools, uninterrupted, tmp_path
):
    """Resumed at iteration 4 (inside the second pass over the data, the
    ALWA window open), with the data loaded in the main process or by two
    persistent workers."""
    full, resumed = uninterrupted('iter', workers), str(tmp_path)
    opts = iter_options(shapes_root, workers)
    train(
        mmdet_tools,
        ITER_CFG,
        resumed,
        opts,
        resume=osp.join(full, 'iter_4.pth'),
    )
    assert_resumed_exactly(full, resumed, 4, 'iter_8.pth')


def _kill_inside(proc, markers, phase, nth, delay):
    """SIGKILL ``proc`` ``delay`` seconds after the ``nth`` ``phase``_begin
    it announces; return whether the kill landed inside that phase, or
    None if the run finished first."""
    seen = 0
    while True:
        lines = open(markers).read().split()
        if lines.count(f'{phase}_begin') > seen:
            seen = lines.count(f'{phase}_begin')
            if seen >= nth:
                break
        if proc.poll() is not None:
            return None
        time.sleep(0.005)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = open(markers).read().split()
    return lines[-1] == f'{phase}_begin'


@pytest.mark.slow
@pytest.mark.parametrize('loop,seed', [('epoch', 0), ('iter', 1)])
def test_sigkill_then_resume_ends_like_the_uninterrupted_run(
    loop, seed, shapes_root, mmdet_tools, uninterrupted, tmp_path
):
    """Killed 3 times (during an iteration, a validation and a checkpoint
    write, in a seeded order, at seeded moments),
    resumed with ``--resume`` each time: the run ends with the
    uninterrupted run's weights, and no truncated file was ever resumed
    from. max_keep_ckpts=1, the case where MMEngine's own hook deletes the
    only good checkpoint before writing the next one."""
    config, options, final = LOOPS[loop]
    # (epoch loop: validation at every epoch; iteration loop: no workers)
    full = uninterrupted(loop, {'epoch': 1, 'iter': 0}[loop])
    opts = options(
        shapes_root, extra=['default_hooks.checkpoint.max_keep_ckpts=1']
    )
    crashed = str(tmp_path / 'crashed')
    rng = random.Random(seed)
    phases = ['iter', 'val', 'ckpt']
    rng.shuffle(phases)
    markers = str(tmp_path / 'markers')
    env = dict(os.environ, MARKERS=markers)
    cmd = [
        sys.executable,
        MARKED_TRAIN,
        osp.join(mmdet_tools, 'train.py'),
        config,
        '--work-dir',
        crashed,
        '--resume',
    ] + opts
    landed = []
    for phase in phases:
        open(markers, 'w').close()
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The n-th iteration of this attempt, its first validation or
        # checkpoint write (a later one may not come before the end).
        nth = rng.randint(1, 3) if phase == 'iter' else 1
        delay = rng.uniform(0.01, 0.1 if phase == 'iter' else 0.2)
        landed.append((phase, _kill_inside(proc, markers, phase, nth, delay)))
        if phase == 'ckpt':  # the kill left a cut-off file
            assert glob.glob(osp.join(crashed, '*.pth.tmp'))
        last = osp.join(crashed, 'last_checkpoint')
        if osp.exists(last):  # always names a complete file
            assert checkpoint_problem(open(last).read()) is None
    assert all(hit for _, hit in landed), landed
    open(markers, 'w').close()
    out = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert_same_end(full, crashed, final)


@pytest.mark.slow
def test_truncated_checkpoint_refused_by_train_py(
    shapes_root, mmdet_tools, uninterrupted, tmp_path
):
    """``--resume FILE`` with a file cut short: a message naming it and the
    newest intact checkpoint beside it, before any training."""
    full = uninterrupted('epoch', 1)
    work = tmp_path / 'work'
    work.mkdir()
    good = open(osp.join(full, 'epoch_1.pth'), 'rb').read()
    (work / 'epoch_1.pth').write_bytes(good)
    (work / 'epoch_2.pth').write_bytes(good[: len(good) // 3])
    out = subprocess.run(
        [
            sys.executable,
            osp.join(mmdet_tools, 'train.py'),
            EPOCH_CFG,
            '--work-dir',
            str(work),
            '--resume',
            str(work / 'epoch_2.pth'),
        ]
        + epoch_options(shapes_root),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0
    assert 'UnpicklingError' not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert 'epoch_2.pth' in last and 'truncated' in last, last
    assert f'newest intact checkpoint in {work} is' in last
    assert 'epoch_1.pth' in last
