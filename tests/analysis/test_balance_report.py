"""The balance report on this package's configs and on MMDetection's own
(two-stage, one-stage, Libra, anchor-free), on the generated shapes data;
what it cannot read is refused naming what is missing, and the tool writes
all of its files or none."""

import copy
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmdet_libra_ext.analysis.balance_report import ConfigError, collect
from mmdet_libra_ext.analysis.balance_summary import (
    recommendations,
    summary_lines,
)
from mmdet_libra_ext.datasets.shapes_drawing import SHAPES_CLASSES
from tests.tool_runs import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo')
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'balance_report.py')


def _config(path, data_root, scale=(320, 192)):
    from mmengine.config import Config

    cfg = Config.fromfile(path)
    ds = cfg.train_dataloader.dataset
    ds.data_root = data_root
    ds.ann_file = 'annotations/instances_train.json'
    ds.data_prefix = dict(img='train/')
    ds.metainfo = dict(classes=SHAPES_CLASSES)
    for step in ds.pipeline:
        if step['type'] == 'Resize':
            step['scale'] = scale
    cfg.train_dataloader.batch_size = 2
    return cfg


def _mmdet(name):
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', name)


def _json_counts(data_root):
    """Instances and images per class, read from the COCO file itself."""
    with open(osp.join(data_root, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    cats = {c['id']: i for i, c in enumerate(coco['categories'])}
    inst = [0] * len(cats)
    imgs = [set() for _ in cats]
    for a in coco['annotations']:
        inst[cats[a['category_id']]] += 1
        imgs[cats[a['category_id']]].add(a['image_id'])
    return inst, [len(s) for s in imgs]


@pytest.mark.parametrize(
    'name, stages, sampled, bfp',
    [
        (
            'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
            ['rpn', 'rcnn'],
            ['rpn', 'rcnn'],
            False,
        ),
        ('retinanet/retinanet_r50_fpn_1x_coco.py', ['head'], [], False),
        (
            'libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py',
            ['rpn', 'rcnn'],
            ['rpn', 'rcnn'],
            True,
        ),
    ],
)
def test_mmdetections_own_configs(shapes_root, name, stages, sampled, bfp):
    report = collect(_config(_mmdet(name), shapes_root), batches=1)
    assert list(report['stages']) == stages
    for stage, st in report['stages'].items():
        s = st['sample_level']
        assert s['num_negatives'] > 0
        assert 0 <= s['negatives_hard_share'] <= 1
        assert sum(s['negatives_hist']) == pytest.approx(1)
        # A random sampler takes the candidates' distribution, an
        # IoU-balanced one takes harder negatives.
        assert ('tv_distance' in s) == (stage in sampled)
        if stage in sampled:
            assert s['balanced_hard_share'] > s['random_hard_share']
        f = st['feature_level']
        counts = [row['count'] for row in f['levels']]
        assert sum(counts) + f['unassigned_gts'] == f['num_gts'] > 0
        if stage == 'rcnn':
            assert f['unassigned_gts'] == 0
        else:
            assert 0 <= f['anchor_fit']['bpr'] <= 1
    final = report['stages'][stages[-1]]['objective_level']
    assert 0 < final['config_loss']['inlier_grad_share'] <= 1
    inst, imgs = _json_counts(shapes_root)
    assert report['class_level']['instances'] == inst
    assert report['class_level']['images'] == imgs
    model = report['model']
    assert model['has_bfp'] is bfp
    if bfp:
        assert len(model['feature_energy']['before']) == 5
        assert len(model['feature_energy']['after']) == 5
    assert all(v['mean'] > 0 for v in model['cls_reg_ratio'].values())
    lines = summary_lines(report, reference={})
    assert any('class level' in line for line in lines)


def test_anchor_free_priors_are_skipped_by_name(shapes_root):
    cfg = _config(
        _mmdet('fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'), shapes_root
    )
    cfg.model.train_cfg = dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
        )
    )
    report = collect(cfg, batches=1, with_model=False)
    assert 'not boxes' in report['stages']['head']['skipped']
    assert any('skipped' in line for line in summary_lines(report, {}))


def test_data_side_readings_do_not_depend_on_the_components(shapes_root):
    """The baseline and the Libra config (IoU-balanced sampler, BFP,
    Balanced L1) read the same data: the same class counts, the same
    candidates' IoUs, the same ground truths per level."""
    reports = [
        collect(
            _config(
                osp.join(DEMO, f'{n}_r18_fpn_shapes_demo.py'),
                shapes_root,
                scale=(256, 256),
            ),
            batches=2,
            with_model=False,
        )
        for n in ('faster-rcnn', 'libra-faster-rcnn')
    ]
    base, libra = reports
    assert base['class_level'] == libra['class_level']
    for stage in ('rpn', 'rcnn'):
        a, b = base['stages'][stage], libra['stages'][stage]
        assert a['feature_level'] == b['feature_level']
        for key in (
            'num_negatives',
            'negatives_hard_share',
            'negatives_hist',
            'random_hard_share',
            'tv_distance',
        ):
            assert a['sample_level'][key] == b['sample_level'][key], key
    assert base['stages']['rcnn']['sampler'] == 'RandomSampler'
    assert libra['stages']['rcnn']['sampler'] == 'CombinedSampler'
    # The regression readings follow the config's loss.
    assert (
        base['stages']['rcnn']['objective_level']['config_loss']['type']
        == 'L1Loss'
    )
    rec = recommendations(base, reference={})
    assert rec[0].startswith('IoU-balanced sampling: room to balance')


def test_what_it_cannot_read_is_named(shapes_root):
    cfg = _config(
        osp.join(DEMO, 'faster-rcnn_r18_fpn_shapes_demo.py'), shapes_root
    )
    no_train_cfg = copy.deepcopy(cfg)
    no_train_cfg.model.train_cfg = None
    with pytest.raises(ConfigError, match='model.train_cfg'):
        collect(no_train_cfg, batches=1)
    no_loader = copy.deepcopy(cfg)
    no_loader.train_dataloader = None
    with pytest.raises(ConfigError, match='train_dataloader'):
        collect(no_loader, batches=1)
    detr = _config(_mmdet('detr/detr_r50_8xb2-150e_coco.py'), shapes_root)
    with pytest.raises(ConfigError, match='anchor_generator or prior_gen'):
        collect(detr, batches=1)
    with pytest.raises(ValueError, match='batches must be at least 1'):
        collect(cfg, batches=0)


def _run(args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, TOOL] + args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_tool_writes_all_or_nothing(shapes_root, tmp_path, capsys):
    config = osp.join(DEMO, 'libra-faster-rcnn_r18_fpn_shapes_demo.py')
    out = str(tmp_path / 'report')
    data = f'train_dataloader.dataset.data_root={shapes_root}'
    r = _run(
        [config, '--batches', '1', '--out-dir', out, '--cfg-options', data]
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(os.listdir(out)) == [
        'balance_report.json',
        'balance_report.png',
        'summary.txt',
    ]
    report = json.load(open(osp.join(out, 'balance_report.json')))
    assert report['config'] == config
    assert set(report['stages']) == {'rpn', 'rcnn'}
    assert 'room to balance' in r.stdout
    assert open(osp.join(out, 'summary.txt')).read().strip() in r.stdout
    # Missing data: a clear error naming it, nothing written.
    bad = str(tmp_path / 'bad')
    r = _run(
        [
            config,
            '--out-dir',
            bad,
            '--cfg-options',
            f'train_dataloader.dataset.data_root={tmp_path}/nowhere/',
        ]
    )
    assert r.returncode != 0
    assert 'nowhere' in r.stderr
    assert not osp.exists(bad) or os.listdir(bad) == []
    # The options refused as argparse refuses (exit 2, the reason on
    # stderr), checked in this process.
    parse_args = load_tool('tools/analysis_tools/balance_report.py').parse_args
    for args, reason in (
        (['--batches', '0'], '--batches must be at least 1'),
        (['--init-weights', '--no-model'], '--init-weights needs the model'),
    ):
        with pytest.raises(SystemExit) as exit_:
            parse_args([config, *args])
        assert exit_.value.code == 2
        assert reason in capsys.readouterr().err


def test_init_weights_reads_the_detector_as_training_starts(
    shapes_root, tmp_path
):
    """A fine-tuning config is read with its pretrained backbone: the
    detector the report reads holds the init_cfg's file; without
    ``init_weights`` it does not, and a missing file is named."""
    import torch

    from mmdet_libra_ext.analysis.balance_report import build_detector

    config = osp.join(DEMO, 'faster-rcnn_r18_fpn_shapes_demo.py')
    cfg = _config(config, shapes_root)
    backbone = build_detector(cfg).backbone
    weights = {
        k: torch.full_like(v, 0.5) if v.is_floating_point() else v
        for k, v in backbone.state_dict().items()
    }
    path = str(tmp_path / 'pretrained.pth')
    torch.save(dict(state_dict=weights), path)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path)
    got = build_detector(cfg, init_weights=True).backbone.state_dict()
    assert all(torch.equal(got[k], v) for k, v in weights.items())
    assert not torch.equal(
        build_detector(cfg).backbone.conv1.weight, weights['conv1.weight']
    )
    report = collect(cfg, batches=1, init_weights=True)
    assert report['model']['weights'] == "the config's init_cfg"
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'missing.pth')
    with pytest.raises(Exception, match='missing.pth'):
        collect(cfg, batches=1, init_weights=True)
    assert collect(cfg, batches=1)['model']['weights'] == 'initialisation'
