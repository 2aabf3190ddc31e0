"""experiments/pretrain_backbone.py and a transfer variant that loads its
backbone."""

import glob
import json
import os
import os.path as osp

import pytest

from experiments.pretrain_backbone import main as pretrain
from tests.tool_runs import ROOT, run_main, run_tool  # noqa: E402


@pytest.mark.slow
def test_pretrain_backbone_then_transfer_ablation(
    tmp_path, shapes_root, crowded_root
):
    """The pretrained backbone is made once (cached), reproducibly, holds
    the backbone alone, and the transfer configs load it; a transfer
    variant runs through the ablation tool with the step schedule scaled
    and ALWA's weight recorded."""
    import torch
    from mmengine.config import Config

    tool = ['-m', 'experiments.pretrain_backbone']
    out = str(tmp_path / 'backbone.pth')
    args = [
        *tool,
        '--out',
        out,
        '--epochs',
        '1',
        '--data-root',
        shapes_root,
        '--work-dir',
        str(tmp_path / 'pretrain'),
        '--cfg-options',
        'train_dataloader.dataset.indices=8',
        'train_dataloader.batch_size=4',
        'val_dataloader.dataset.indices=4',
    ]
    assert 'wrote' in run_tool(args, ROOT)
    first = torch.load(out, weights_only=True)
    state = first['state_dict']
    assert state and all(k.startswith('backbone.') for k in state)
    assert first['meta']['recipe']['epochs'] == 1
    # (Nothing to train: in this process.)
    assert 'up to date (cached)' in run_main(pretrain, args[2:])
    assert 'wrote' in run_tool(args + ['--force'], ROOT)
    again = torch.load(out, weights_only=True)['state_dict']
    assert all(torch.equal(state[k], again[k]) for k in state)
    # A transfer config's backbone starts from exactly these weights.
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(
        osp.join(
            ROOT,
            'configs',
            'transfer',
            'libra-faster-rcnn_r18_fpn_crowded-transfer.py',
        )
    )
    cfg.model.backbone.init_cfg.checkpoint = out
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.state_dict()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k
    # The ablation tool runs a transfer variant with it.
    results = str(tmp_path / 'results.json')
    log_args = [
        '-m',
        'experiments.ablation',
        'run',
        '--variants',
        'transfer: baseline + ALWA',
        '--seeds',
        '0',
        '--epochs',
        '1',
        '--data-root',
        crowded_root,
        '--pretrained',
        out,
        '--out',
        str(tmp_path / 'work'),
        '--results',
        results,
        '--cfg-options',
        'custom_hooks.1.interval=2',
        '--label',
        'C=2',
    ]
    log = run_tool(log_args, ROOT)
    assert 'transfer: baseline + ALWA [C=2] seed 0' in log
    rec = json.load(open(results))[0]
    assert rec['iters'] == 2  # 16 images in batches of 8
    assert sorted(rec['alwa_final']) == [
        'alwa_cls_weight',
        'alwa_rpn_cls_weight',
    ]
    assert 0 < min(rec['alwa_min'].values()) <= 1
    # A run that was stopped is resumed from its last checkpoint (here the
    # final one, of a run whose record was lost), with the same result.
    os.remove(results)
    assert 'seed 0' in run_tool(log_args, ROOT)
    again = json.load(open(results))[0]
    assert again['resumed'] and again['iters'] == 2
    for key in ('bbox_mAP', 'alwa_final', 'alwa_min'):
        assert again[key] == rec[key], key
    dumped = glob.glob(str(tmp_path / 'work' / '*' / 'seed0' / 'alwa-*.py'))
    cfg = Config.fromfile(dumped[0])
    assert cfg.param_scheduler[1]['milestones'] == [1]
    assert cfg.model.backbone.init_cfg.checkpoint == out
    assert cfg.train_dataloader.dataset.data_root == crowded_root
