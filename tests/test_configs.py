"""Every config of the package loads and builds its detector."""

import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
from tests.config_dicts import without  # noqa: E402

CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
)


def test_there_are_configs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.relpath(p, ROOT) for p in CONFIGS]
)
def test_config_builds(path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmdet_libra_ext']
    assert cfg.custom_imports.allow_failed_imports is False
    text = open(path).read()
    if '/demo/' in path or '/transfer/' in path:
        # Demo and transfer configs download nothing (the transfer ones
        # load the backbone experiments/pretrain_backbone.py makes). (COCO/VOC
        # recipes keep MMDetection's ImageNet-pretrained backbones.)
        assert 'torchvision://' not in cfg.pretty_text
        assert 'http' not in cfg.pretty_text.replace('https://mmengine', '')
    model = MODELS.build(cfg.model)
    # Our components are named with the scope, never by bare name.
    # (Except the reference config that holds MMDetection's own.)
    if not osp.basename(path).startswith('mmdet-'):
        for name in (
            'BalancedL1Loss',
            'BFP',
            'IoUBalancedNegSampler',
            'InstanceBalancedPosSampler',
            'FocalLoss',
        ):
            assert f"type='{name}'" not in text
    mods = {type(m).__module__ for m in model.modules()}
    assert any(m.startswith('mmdet.') for m in mods)
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'mmdet_libra_ext.WeightsOnlyCheckpointHook' in hooks
    assert (
        cfg.default_hooks.checkpoint.type
        == 'mmdet_libra_ext.AtomicCheckpointHook'
    )


def _demo(name):
    return Config.fromfile(
        osp.join(ROOT, 'configs', 'demo', name + '_r18_fpn_shapes_demo.py')
    )


SAMPLING = ('model.train_cfg.rcnn.sampler', 'model.train_cfg.rpn')
NECK = ('model.neck',)
LOSS = ('model.roi_head.bbox_head.loss_bbox',)


RPN_SAMPLING = ('model.train_cfg.rpn.sampler',)
RPN_LOSS = ('model.rpn_head.loss_bbox',)


@pytest.mark.parametrize(
    'base, name, changed',
    [
        ('faster-rcnn', 'libra-sampler-faster-rcnn', SAMPLING),
        ('faster-rcnn', 'libra-bfp-faster-rcnn', NECK),
        ('faster-rcnn', 'libra-bl1-faster-rcnn', LOSS),
        ('faster-rcnn', 'libra-faster-rcnn', SAMPLING + NECK + LOSS),
        ('rpn', 'libra-sampler-rpn', RPN_SAMPLING),
        ('rpn', 'libra-bfp-rpn', NECK),
        ('rpn', 'libra-bl1-rpn', RPN_LOSS),
        ('rpn', 'libra-rpn', RPN_SAMPLING + NECK + RPN_LOSS),
    ],
)
def test_ablation_configs_change_only_their_component(base, name, changed):
    base = _demo(base).to_dict()
    cfg = _demo(name).to_dict()
    assert without(cfg, *changed) == without(base, *changed)
    for path in changed:
        node = cfg
        for k in path.split('.'):
            node = node[k]
        assert 'mmdet_libra_ext.' in str(node) or path.endswith('rpn')


def test_libra_is_the_three_components_together():
    libra = _demo('libra-faster-rcnn').model
    assert (
        libra.train_cfg == _demo('libra-sampler-faster-rcnn').model.train_cfg
    )
    assert libra.neck == _demo('libra-bfp-faster-rcnn').model.neck
    assert libra.roi_head == _demo('libra-bl1-faster-rcnn').model.roi_head


def test_mmdet_reference_differs_from_ours_only_in_types():
    ours = _demo('libra-faster-rcnn').to_dict()
    ref = _demo('mmdet-libra-faster-rcnn').to_dict()
    assert without(ours, 'model') == without(ref, 'model')
    text = str(ours['model']).replace("'mmdet_libra_ext.", "'")
    assert text == str(ref['model']) != str(ours['model'])


def test_mmdet_reference_starts_from_identical_weights():
    """Same seed, same initial weights: the evidence table's and the
    end-to-end benchmark's comparison differs only in the components."""
    import torch
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    states = []
    for name in ('libra-faster-rcnn', 'mmdet-libra-faster-rcnn'):
        torch.manual_seed(0)
        model = MODELS.build(_demo(name).model)
        model.init_weights()
        states.append(model.state_dict())
    assert list(states[0]) == list(states[1])
    for key, value in states[0].items():
        assert torch.equal(value, states[1][key]), key


def test_rpn_demo_is_the_baseline_demo_as_an_rpn():
    rpn = _demo('rpn').to_dict()
    frcnn = _demo('faster-rcnn').to_dict()
    assert rpn['model']['type'] == 'RPN'
    for key in ('backbone', 'neck', 'rpn_head', 'data_preprocessor'):
        assert rpn['model'][key] == frcnn['model'][key], key
    assert (
        rpn['model']['train_cfg']['rpn'] == frcnn['model']['train_cfg']['rpn']
    )
    assert rpn['model']['test_cfg']['rpn']['max_per_img'] == 1000
    for key in ('val_evaluator', 'test_evaluator'):
        assert rpn[key]['type'] == 'mmdet_libra_ext.CocoProposalMetric'
        assert rpn[key]['metric'] == 'proposal_fast'
        assert tuple(rpn[key]['proposal_nums']) == (100, 300, 1000)
    keep = ('model', 'val_evaluator', 'test_evaluator')
    assert without(rpn, *keep) == without(frcnn, *keep)


def test_libra_rpn_is_the_three_components_together():
    libra = _demo('libra-rpn').model
    assert libra.train_cfg == _demo('libra-sampler-rpn').model.train_cfg
    assert libra.neck == _demo('libra-bfp-rpn').model.neck
    assert libra.rpn_head == _demo('libra-bl1-rpn').model.rpn_head
    # The RPN's BFP is the Libra Faster R-CNN's.
    assert libra.neck == _demo('libra-faster-rcnn').model.neck
    sampler = libra.train_cfg.rpn.sampler
    assert sampler.neg_sampler.bin_range == 'negatives'
    assert sampler.add_gt_as_proposals is False
    assert libra.rpn_head.loss_bbox.beta == 0.11


def test_libra_faster_rcnn_with_libra_rpn():
    """The Libra Faster R-CNN demo, with the Libra RPN demo's RPN loss and
    sampler and nothing else changed."""
    cfg = _demo('libra-faster-rcnn-libra-rpn').to_dict()
    libra = _demo('libra-faster-rcnn').to_dict()
    changed = RPN_SAMPLING + RPN_LOSS
    assert without(cfg, *changed) == without(libra, *changed)
    rpn = _demo('libra-rpn').model
    assert cfg['model']['rpn_head'] == rpn.rpn_head.to_dict()
    ours = cfg['model']['train_cfg']['rpn']['sampler']
    assert ours == dict(rpn.train_cfg.rpn.sampler.to_dict(), neg_pos_ub=5)


@pytest.mark.parametrize(
    'folder, published, candidate',
    [
        (
            'alwa',
            'faster-rcnn_r50_fpn_alwa_1x_coco',
            'faster-rcnn_r50_fpn_alwa-rpn-diffstd_1x_coco',
        ),
        (
            'demo',
            'alwa-faster-rcnn_r18_fpn_shapes_demo',
            'alwa-rpn-diffstd-faster-rcnn_r18_fpn_shapes_demo',
        ),
        (
            'transfer',
            'alwa-faster-rcnn_r18_fpn_crowded-transfer',
            'alwa-rpn-diffstd-faster-rcnn_r18_fpn_crowded-transfer',
        ),
    ],
)
def test_shipped_alwa_setting_is_the_evidenced_one(
    folder, published, candidate
):
    """The ready-made ALWA configs are the published ALWA configs with the
    options of the ablation rows that measured them, and nothing else."""
    import argparse

    from mmengine.config import DictAction

    from experiments import plans

    def load(name):
        return Config.fromfile(osp.join(ROOT, 'configs', folder, name + '.py'))

    want = load(published)
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    options = plans.ALWA_OPTIONS[plans.ALWA_CANDIDATE]
    want.merge_from_dict(parser.parse_args(['--o', *options]).o)
    got = load(candidate)
    assert got.to_dict() == want.to_dict()
    hook = got.custom_hooks[1]
    assert hook.statistic == 'diff_std'
    assert hook.pairs == [('loss_rpn_cls', 'loss_rpn_bbox')]


def _bccd(name):
    return Config.fromfile(
        osp.join(ROOT, 'configs', 'bccd', name + '_r18_fpn_bccd.py')
    )


@pytest.mark.parametrize(
    'name, changed',
    [
        ('libra-sampler-faster-rcnn', SAMPLING),
        ('libra-bfp-faster-rcnn', NECK),
        ('libra-bl1-faster-rcnn', LOSS),
        ('libra-faster-rcnn', SAMPLING + NECK + LOSS),
        (
            'libra-faster-rcnn-libra-rpn',
            SAMPLING + NECK + LOSS + RPN_LOSS,
        ),
        ('alwa-rpn-diffstd-faster-rcnn', ('custom_hooks',)),
    ],
)
def test_bccd_configs_add_the_demos_components_only(name, changed):
    """Each BCCD variant is the BCCD baseline with exactly the component
    of the demo config of the same name (so the BCCD table and the demo
    table measure the same components), data and schedule unchanged."""
    base, cfg = _bccd('faster-rcnn').to_dict(), _bccd(name).to_dict()
    assert without(cfg, *changed) == without(base, *changed)
    demo = _demo(name).to_dict()
    if name == 'libra-faster-rcnn-libra-rpn':
        # The demo's Libra RPN with half of its negatives from the floor
        # (the ablation's FLOOR_HALF row), as docs/libra_rpn.md advises.
        neg = demo['model']['train_cfg']['rpn']['sampler']['neg_sampler']
        assert neg['floor_fraction'] == 0
        neg['floor_fraction'] = 0.5
    for path in changed:
        node, ref = cfg, demo
        for k in path.split('.'):
            node, ref = node[k], ref[k]
        assert node == ref, path


def test_bccd_trainval_config_is_the_baseline_on_trainval_unvalidated():
    """The recipe's final training: the baseline with trainval as its
    training data for as many iterations (the same training time), the
    schedule following its epochs, no validation (val is training data),
    and the baseline's test split and evaluation."""
    base = _bccd('faster-rcnn')
    cfg = Config.fromfile(
        osp.join(
            ROOT, 'configs', 'bccd', 'faster-rcnn_r18_fpn_bccd-trainval.py'
        )
    )
    train = cfg.train_dataloader
    assert train.dataset.ann_file == 'ImageSets/Main/trainval.txt'
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.val_evaluator is None
    # BCCD's splits (its README): train 205 images, val 87.
    per_epoch = -(-(205 + 87) // train.batch_size)
    iters = cfg.train_cfg.max_epochs * per_epoch
    base_iters = base.train_cfg.max_epochs * -(-205 // train.batch_size)
    assert abs(iters - base_iters) < per_epoch / 2, (iters, base_iters)
    epochs = cfg.train_cfg.max_epochs
    cosine = cfg.param_scheduler[1]
    assert cosine.end == cosine.T_max == epochs
    assert cfg.default_hooks.checkpoint.interval == epochs
    schedule = (
        'max_epochs',
        'train_cfg',
        'param_scheduler',
        'default_hooks',
        'train_dataloader.dataset.ann_file',
        'val_dataloader',
        'val_cfg',
        'val_evaluator',
    )
    assert without(cfg.to_dict(), *schedule) == without(
        base.to_dict(), *schedule
    )
    assert without(cfg.to_dict()['default_hooks'], 'checkpoint') == without(
        base.to_dict()['default_hooks'], 'checkpoint'
    )
    assert cfg.test_dataloader == base.test_dataloader
    assert cfg.test_evaluator == base.test_evaluator


def test_bccd_fine_tuned_trainval_config_is_the_recipe_on_trainval():
    """The fine-tuned own-dataset recipe trained as the BCCD recipe's
    final training: BCCD's root and classes, trainval as its training data
    for the recipe's own iterations, no validation and so no best
    checkpoint; everything else (ImageNet weights, frozen stages,
    schedule, augmentation, fit_to_data, test-time augmentation) the
    recipe's."""
    recipe = Config.fromfile(
        osp.join(
            ROOT,
            'configs',
            'own_dataset',
            'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        )
    )
    cfg = Config.fromfile(
        osp.join(
            ROOT,
            'configs',
            'bccd',
            'faster-rcnn_mobilenetv2_fpn_bccd-trainval.py',
        )
    )
    classes = ('RBC', 'WBC', 'Platelets')
    train, test = cfg.train_dataloader.dataset, cfg.test_dataloader.dataset
    assert train.ann_file == 'ImageSets/Main/trainval.txt'
    assert test.ann_file == 'ImageSets/Main/test.txt'
    for ds in (train, test):
        assert ds.data_root == 'data/BCCD/'
        assert tuple(ds.metainfo.classes) == classes
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.val_evaluator is None
    hook = cfg.default_hooks.checkpoint
    assert hook.save_best is None and hook.rule is None
    assert cfg.train_cfg == recipe.train_cfg
    assert cfg.param_scheduler == recipe.param_scheduler
    assert cfg.model.backbone == recipe.model.backbone
    assert cfg.optim_wrapper == recipe.optim_wrapper
    assert cfg.fit_to_data == recipe.fit_to_data
    assert cfg.tta_model == recipe.tta_model
    assert cfg.tta_pipeline == recipe.tta_pipeline
    data = ('data_root', 'classes', 'metainfo')
    split = (
        'train_dataloader.dataset.data_root',
        'train_dataloader.dataset.metainfo',
        'train_dataloader.dataset.ann_file',
        'test_dataloader.dataset.data_root',
        'test_dataloader.dataset.metainfo',
        'model.roi_head.bbox_head.num_classes',
        'val_dataloader',
        'val_cfg',
        'val_evaluator',
        'default_hooks',
    )
    assert without(cfg.to_dict(), *data, *split) == without(
        recipe.to_dict(), *data, *split
    )
    assert without(cfg.to_dict()['default_hooks'], 'checkpoint') == without(
        recipe.to_dict()['default_hooks'], 'checkpoint'
    )
    assert without(hook.to_dict(), 'save_best', 'rule') == without(
        recipe.default_hooks.checkpoint.to_dict(), 'save_best', 'rule'
    )


def test_bccd_baseline_reads_voc_and_evaluates_per_class():
    cfg = _bccd('faster-rcnn')
    for split in ('train', 'val', 'test'):
        ds = cfg[f'{split}_dataloader'].dataset
        assert ds.type == 'VOCDataset'
        assert ds.data_root == cfg.data_root == 'data/BCCD/'
        assert ds.ann_file == f'ImageSets/Main/{split}.txt'
        assert ds.metainfo.classes == ('RBC', 'WBC', 'Platelets')
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    types = [(m.type, m.get('eval_mode')) for m in cfg.test_evaluator]
    assert types == [
        ('mmdet_libra_ext.ClasswiseVOCMetric', '11points'),
        ('mmdet_libra_ext.ClasswiseVOCMetric', 'area'),
        ('mmdet_libra_ext.GTInstancesCocoMetric', None),
    ]
    assert cfg.test_evaluator[2].classwise
    # No meta key that an image given for inference lacks (MMDetection
    # < 3.2 refuses those): the ground truth comes from gt_instances.
    (pack,) = [t for t in cfg.test_pipeline if t.type == 'PackDetInputs']
    assert 'instances' not in pack.meta_keys
    # Test-time augmentation: the four flips of training, fused by WBF.
    from mmdet.registry import MODELS, TRANSFORMS
    from mmdet.utils import register_all_modules

    register_all_modules()  # TestTimeAug builds its views in scope mmdet
    tta = MODELS.build(dict(cfg.tta_model, module=MODELS.build(cfg.model)))
    assert type(tta).__name__ == 'WBFTTAModel'
    # (A copy: mmcv 2.0's TestTimeAug builds the views in place.)
    TRANSFORMS.build(copy.deepcopy(cfg.tta_pipeline[-1]))
    views = cfg.tta_pipeline[-1].transforms[0]
    (train_flip,) = [
        t
        for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'RandomFlip'
    ]
    assert [(v.prob, v.get('direction')) for v in views] == [(0.0, None)] + [
        (1.0, d) for d in train_flip.direction
    ]
    assert cfg.tta_pipeline[:-1] == cfg.test_pipeline[:-1]
    # Zero-size boxes leave training through MMDetection's filter.
    filt = [
        t
        for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'FilterAnnotations'
    ]
    assert filt and filt[0].min_gt_bbox_wh == (1, 1)
