"""BalanceMonitorHook: its readings against independent computations, and
under MMDetection's tools/train.py (with --resume) and two gloo ranks, with
training bit-identical with and without it."""

import glob
import json
import os.path as osp

import pytest
import torch

from mmdet_libra_ext.engine.hooks.balance_monitor_hook import (
    BalanceMonitorHook,
    prior_levels,
)
from tests.resume_checks import assert_identical
from tests.tiny import tiny_options
from tests.tool_runs import run_tool, train, two_ranks

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(__file__))))
ROOT = osp.abspath(ROOT)
DEMO = osp.join(ROOT, 'configs', 'demo')


def test_prior_levels_are_the_generators_levels():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator

    gen = AnchorGenerator(
        strides=[4, 8, 16, 32, 64], ratios=[0.5, 1.0, 2.0], scales=[8]
    )
    per_level = gen.grid_priors(
        [(16, 20), (8, 10), (4, 5), (2, 3), (1, 2)], device='cpu'
    )
    expected = torch.cat(
        [torch.full((len(p),), i) for i, p in enumerate(per_level)]
    )
    assert torch.equal(prior_levels(torch.cat(per_level), gen), expected)


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='interval'):
        BalanceMonitorHook(interval=0)
    with pytest.raises(ValueError, match='hard_iou=1.5'):
        BalanceMonitorHook(hard_iou=1.5)


def _config(tmp_path, interval):
    """The demo Libra config with the hook added (or not: interval None)."""
    path = tmp_path / f'monitor_{interval}.py'
    hooks = [
        "dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook')",
        "dict(type='mmdet_libra_ext.ResumableRandomnessHook')",
    ]
    if interval:
        hooks.append(
            "dict(type='mmdet_libra_ext.BalanceMonitorHook', "
            f'interval={interval})'
        )
    base = osp.join(DEMO, 'libra-faster-rcnn_r18_fpn_shapes_demo.py')
    path.write_text(
        f'_base_ = {base!r}\ncustom_hooks = [{", ".join(hooks)}]\n'
    )
    return str(path)


def _train(mmdet_tools, config, work, shapes_root, resume=None):
    """8 images in batches of 4, 2 epochs, validated at the end."""
    options = tiny_options(
        shapes_root,
        epochs=2,
        train_images=8,
        extra=[
            'train_cfg.val_interval=2',
            'randomness.deterministic=True',
            'default_hooks.checkpoint.max_keep_ckpts=-1',
        ],
    )
    train(mmdet_tools, config, work, options, resume=resume)


def _logged(work):
    out = {}
    for f in sorted(
        glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    ):
        for line in open(f):
            r = json.loads(line)
            if 'loss' in r:
                out[r['iter']] = r
    return out


@pytest.mark.slow
def test_under_train_py_with_resume_and_without_changing_training(
    shapes_root, mmdet_tools, tmp_path
):
    with_hook = _config(tmp_path, 1)
    runs = {}
    for name, config in (('on', with_hook), ('off', _config(tmp_path, None))):
        runs[name] = str(tmp_path / name)
        _train(mmdet_tools, config, runs[name], shapes_root)
    # 8 images in batches of 4, 2 epochs: 4 iterations, each read.
    logs = _logged(runs['on'])
    assert sorted(logs) == [1, 2, 3, 4]
    for r in logs.values():
        for stage in ('rpn', 'rcnn'):
            assert 0 <= r[f'balance/{stage}_hard_neg_share'] <= 1
        assert 0 < r['balance/inlier_grad_share'] <= 1
        assert sum(r[f'balance/rcnn_pos_level{i}'] for i in range(4)) > 0
    # The first line logs one iteration's values (later ones, mmengine's
    # mean over the log window, of the losses and of the ratios): the ratio
    # of its losses.
    first = logs[1]
    assert first['balance/cls_reg_ratio'] == pytest.approx(
        first['loss_cls'] / first['loss_bbox'], rel=1e-4
    )
    assert first['balance/rpn_cls_reg_ratio'] == pytest.approx(
        first['loss_rpn_cls'] / first['loss_rpn_bbox'], rel=1e-4
    )
    assert not any(
        k.startswith('balance/')
        for r in _logged(runs['off']).values()
        for k in r
    )
    # Training is bit-identical with and without the hook.
    a, b = (
        torch.load(osp.join(runs[n], 'epoch_2.pth'), weights_only=True)
        for n in ('on', 'off')
    )
    assert_identical(a['state_dict'], b['state_dict'])
    # tools/analysis_tools/report.py draws the readings.
    out = str(tmp_path / 'report')
    run_tool(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'report.py'),
            runs['on'],
            '--out',
            out,
            '--images',
            '0',
        ]
    )
    assert osp.exists(osp.join(out, 'balance.png'))
    # --resume from epoch 1: the hook reads on, the end is the same.
    resumed = str(tmp_path / 'resumed')
    _train(
        mmdet_tools,
        with_hook,
        resumed,
        shapes_root,
        resume=osp.join(runs['on'], 'epoch_1.pth'),
    )
    part = _logged(resumed)
    assert sorted(part) == [3, 4]
    for it in (3, 4):
        assert part[it]['balance/rcnn_hard_neg_share'] == pytest.approx(
            logs[it]['balance/rcnn_hard_neg_share']
        )
    c = torch.load(osp.join(resumed, 'epoch_2.pth'), weights_only=True)
    assert_identical(a['state_dict'], c['state_dict'])


@pytest.mark.slow
def test_two_ranks_log_the_same_summed_readings(shapes_root, tmp_path):
    work = str(tmp_path / 'work')
    r0, r1 = two_ranks(_config(tmp_path, 1), shapes_root, work)
    assert [r['iter'] for r in r0['records']] == [1, 2, 3, 4]
    for a, b in zip(r0['records'], r1['records']):
        # Each rank's losses are its own; the readings are the ranks'.
        assert a['balance'] == b['balance'], a['iter']
        assert 0 <= a['balance']['train/balance/rcnn_hard_neg_share'] <= 1
    assert any(
        a['losses']['loss_cls'] != b['losses']['loss_cls']
        for a, b in zip(r0['records'], r1['records'])
    )
