"""configs/own_dataset/: every recipe a user copies fine-tunes ImageNet
weights named by a public id that MMDetection resolves, and loads them
offline from the file that ``--cfg-options
model.backbone.init_cfg.checkpoint=PATH`` names (here random
torchvision-layout weights converted by the repository's converter:
nothing is downloaded); a missing file is refused naming it. Each variant
changes only its component of the recipe, and the fine-tuning schedule
costs no more than the from-scratch recipe's."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.config_dicts import without

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OWN = osp.join(ROOT, 'configs', 'own_dataset')
SCRATCH = osp.join(ROOT, 'configs', 'own_dataset_scratch')
CONFIGS = sorted(glob.glob(osp.join(OWN, '*.py')))
MOBILENET = [p for p in CONFIGS if '_mobilenetv2_' in p]
RECIPE = osp.join(OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py')


def _ids(paths):
    return [osp.basename(p) for p in paths]


def test_the_recipes_are_there():
    names = set(_ids(CONFIGS))
    assert {
        'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'faster-rcnn_mobilenetv2_fpn_adaptive-photometric-voc.py',
        'libra-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'retinanet_mobilenetv2_fpn_adaptive-voc.py',
        'faster-rcnn_r50_fpn_adaptive-voc.py',
        'libra-sampler-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'libra-bfp-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'libra-bl1-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'libra-retinanet_mobilenetv2_fpn_adaptive-voc.py',
        'alwa-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'alwa-retinanet_mobilenetv2_fpn_adaptive-voc.py',
        'alwa-rpn-diffstd-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
        'faster-rcnn_mobilenetv2_fpn_adaptive-ema-voc.py',
        'faster-rcnn_mobilenetv2_fpn_adaptive-scale-jitter-voc.py',
        'faster-rcnn_mobilenetv2_fpn_adaptive-coco.py',
    } <= names


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_each_names_imagenet_weights_by_a_public_id(path):
    """open-mmlab:// ids are in mmengine's own table; the torchvision://
    one is the id MMDetection's own Faster R-CNN R-50 config names
    (mmengine resolves those through torchvision, an optional
    dependency)."""
    from mmengine.runner.checkpoint import get_external_models

    init = Config.fromfile(path).model.backbone.init_cfg
    assert init.type == 'Pretrained'
    scheme, _, name = init.checkpoint.partition('://')
    if scheme == 'open-mmlab':
        assert name in get_external_models(), init.checkpoint
    else:
        import mmdet

        mmdet_r50 = Config.fromfile(
            osp.join(
                osp.dirname(mmdet.__file__),
                *'.mim/configs/_base_/models/faster-rcnn_r50_fpn.py'.split(
                    '/'
                ),
            )
        ).model.backbone
        assert init == mmdet_r50.init_cfg
        assert Config.fromfile(path).model.backbone.depth == mmdet_r50.depth


def _build(path, weights):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(path)
    # The documented offline switch, as --cfg-options gives it.
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': weights})
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', MOBILENET, ids=_ids(MOBILENET))
def test_the_offline_file_loads_into_the_backbone(
    path, mobilenetv2_weights, monkeypatch
):
    import mmengine.runner.checkpoint as ckpt

    def refuse(*args, **kwargs):
        raise AssertionError('a download was attempted')

    monkeypatch.setattr(ckpt, 'load_from_http', refuse)
    model = _build(path, mobilenetv2_weights)
    model.init_weights()
    want = torch.load(mobilenetv2_weights, weights_only=True)['state_dict']
    got = model.backbone.state_dict()
    assert set(got) == set(want)
    for key, value in want.items():
        assert torch.equal(got[key], value), key
    # The stem and the first four stages (up to stride 16) frozen, the
    # rest trained, BatchNorm kept in eval mode.
    model.train()
    backbone = model.backbone
    frozen = ['conv1'] + [f'layer{i}' for i in range(1, 5)]
    trained = [f'layer{i}' for i in range(5, 8)] + ['conv2']
    for name in frozen:
        params = list(getattr(backbone, name).parameters())
        assert params and not any(p.requires_grad for p in params), name
    for name in trained:
        params = list(getattr(backbone, name).parameters())
        assert params and all(p.requires_grad for p in params), name
    bns = [m for m in backbone.modules() if 'BatchNorm' in type(m).__name__]
    assert bns and not any(m.training for m in bns)
    # No backward pass runs through the frozen high-resolution stages: the
    # stride-4 and stride-8 outputs (layers 2 and 3) hold no graph, the
    # stride-16 and stride-32 ones (layer 5, conv2) do.
    outs = backbone(torch.rand(1, 3, 64, 64))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2]
    assert [o.requires_grad for o in outs] == [False, False, True, True]


def test_a_missing_file_is_refused_naming_it(tmp_path):
    missing = str(tmp_path / 'no_such_weights.pth')
    model = _build(RECIPE, missing)
    with pytest.raises(FileNotFoundError, match='no_such_weights.pth'):
        model.init_weights()


def test_the_recipe_is_the_scratch_recipe_with_a_pretrained_backbone():
    """Only the model's backbone (and the FPN's inputs), the optimiser's
    learning rates and the schedule differ from the from-scratch recipe:
    data, augmentation, evaluation and fit_to_data are the same."""
    ft = Config.fromfile(RECIPE).to_dict()
    scratch = Config.fromfile(
        osp.join(SCRATCH, 'faster-rcnn_r18_fpn_adaptive-voc.py')
    ).to_dict()
    changed = (
        'model.backbone',
        'model.neck.in_channels',
        'optim_wrapper.optimizer.lr',
        'optim_wrapper.paramwise_cfg',
        'max_iters',
        'train_cfg.max_iters',
        'param_scheduler',
        'default_hooks.checkpoint.interval',
        'val_interval',
        'pretrained',
        'backbone',
        'backbone_channels',
    )
    assert without(ft, *changed) == without(scratch, *changed)
    # Fine-tuning costs no more iterations than training from scratch.
    assert ft['train_cfg']['max_iters'] <= scratch['train_cfg']['max_iters']
    assert ft['param_scheduler'][-1]['end'] == ft['train_cfg']['max_iters']


@pytest.mark.parametrize('path', MOBILENET, ids=_ids(MOBILENET))
def test_the_backbone_steps_a_tenth_of_the_new_layers(
    path, mobilenetv2_weights
):
    """The optimiser MMDetection builds from each recipe: every backbone
    parameter at a tenth of the configured rate, every other one (FPN,
    RPN, heads) at the rate itself."""
    from mmengine.optim import build_optim_wrapper

    model = _build(path, mobilenetv2_weights)
    cfg = Config.fromfile(path)
    lr = cfg.optim_wrapper.optimizer.lr
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    rate = {
        id(p): g['lr']
        for g in wrapper.optimizer.param_groups
        for p in g['params']
    }
    params = [
        (name, p) for name, p in model.named_parameters() if p.requires_grad
    ]
    assert params and all(id(p) in rate for _, p in params)
    backbone = {rate[id(p)] for n, p in params if n.startswith('backbone.')}
    rest = {rate[id(p)] for n, p in params if not n.startswith('backbone.')}
    assert len(backbone) == 1 and backbone.pop() == pytest.approx(lr / 10)
    assert rest == {lr}


SAMPLING = (
    'model.train_cfg.rpn.sampler',
    'model.train_cfg.rpn.allowed_border',
    'model.train_cfg.rcnn.sampler',
)
NECK = ('model.neck', 'num_channels')
LOSS = ('model.roi_head.bbox_head.loss_bbox',)
HOOKS = ('custom_hooks',)
RETINANET = 'retinanet_mobilenetv2_fpn_adaptive-voc'


@pytest.mark.parametrize(
    'name, changed, base',
    [
        (
            'faster-rcnn_mobilenetv2_fpn_adaptive-photometric-voc',
            ('train_pipeline', 'train_dataloader.dataset.pipeline'),
            RECIPE,
        ),
        (
            'faster-rcnn_mobilenetv2_fpn_adaptive-scale-jitter-voc',
            ('train_pipeline', 'train_dataloader.dataset.pipeline'),
            RECIPE,
        ),
        ('libra-faster-rcnn', SAMPLING + NECK + LOSS, RECIPE),
        ('libra-sampler-faster-rcnn', SAMPLING, RECIPE),
        ('libra-bfp-faster-rcnn', NECK, RECIPE),
        ('libra-bl1-faster-rcnn', LOSS, RECIPE),
        ('faster-rcnn_mobilenetv2_fpn_adaptive-ema-voc', HOOKS, RECIPE),
        ('alwa-faster-rcnn', HOOKS, RECIPE),
        ('alwa-rpn-diffstd-faster-rcnn', HOOKS, RECIPE),
        (
            'libra-retinanet',
            NECK + ('model.bbox_head.loss_bbox',),
            RETINANET,
        ),
        ('alwa-retinanet', HOOKS, RETINANET),
    ],
)
def test_each_variant_changes_only_its_component(name, changed, base):
    if not name.endswith('-voc'):
        name += '_mobilenetv2_fpn_adaptive-voc'
    base = base if base.endswith('.py') else osp.join(OWN, base + '.py')
    ref = Config.fromfile(base).to_dict()
    cfg = Config.fromfile(osp.join(OWN, name + '.py')).to_dict()
    assert without(cfg, *changed) == without(ref, *changed)
    assert any(
        'mmdet_libra_ext.' in str(cfg[k.split('.')[0]]) for k in changed
    ) or name.startswith('faster-rcnn')


def test_the_coco_recipe_changes_only_the_reader():
    """The COCO-format recipe is the VOC recipe with MMDetection's
    CocoDataset reading COCO's layout (annotations/instances_<split>.json,
    images in <split>/); everything else, the evaluation included, is the
    same config."""
    splits = ('train', 'val', 'test')
    reader = tuple(
        f'{s}_dataloader.dataset.{k}'
        for s in splits
        for k in ('type', 'ann_file', 'data_prefix')
    )
    ref = Config.fromfile(RECIPE).to_dict()
    cfg = Config.fromfile(
        osp.join(OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-coco.py')
    ).to_dict()
    assert without(cfg, *reader) == without(ref, *reader)
    for s in splits:
        dataset = cfg[f'{s}_dataloader']['dataset']
        assert dataset['type'] == 'CocoDataset'
        assert dataset['ann_file'] == f'annotations/instances_{s}.json'
        assert dataset['data_prefix'] == dict(img=f'{s}/')
        assert ref[f'{s}_dataloader']['dataset']['type'] == 'VOCDataset'


def _own(name):
    return Config.fromfile(
        osp.join(OWN, name + '_mobilenetv2_fpn_adaptive-voc.py')
    )


def test_libra_is_the_three_components_together():
    libra = _own('libra-faster-rcnn').model
    assert libra.train_cfg == _own('libra-sampler-faster-rcnn').model.train_cfg
    assert libra.neck == _own('libra-bfp-faster-rcnn').model.neck
    assert libra.roi_head == _own('libra-bl1-faster-rcnn').model.roi_head


def test_the_alwa_variants_are_the_published_rule_and_the_labs():
    hooks = {
        name: _own(name).custom_hooks[1]
        for name in (
            'alwa-faster-rcnn',
            'alwa-retinanet',
            'alwa-rpn-diffstd-faster-rcnn',
        )
    }
    assert hooks['alwa-faster-rcnn'] == dict(
        type='mmdet_libra_ext.ALWAHook', interval=20
    )
    assert hooks['alwa-retinanet'] == hooks['alwa-faster-rcnn']
    lab = hooks['alwa-rpn-diffstd-faster-rcnn']
    assert lab.statistic == 'diff_std'
    assert [tuple(p) for p in lab.pairs] == [('loss_rpn_cls', 'loss_rpn_bbox')]


def test_the_weight_average_spans_a_validation_interval():
    cfg = Config.fromfile(
        osp.join(OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-ema-voc.py')
    )
    base = Config.fromfile(RECIPE)
    # The recipe's own hooks kept, MMDetection's average added after them.
    assert cfg.custom_hooks[:-1] == base.custom_hooks
    ema = cfg.custom_hooks[-1]
    assert (ema.type, ema.ema_type) == ('EMAHook', 'ExpMomentumEMA')
    # An average over about 1 / momentum iterations: one validation
    # interval, so each evaluation reads the weights since the last one.
    assert 1 / ema.momentum == cfg.train_cfg.val_interval
    # Its momentum warm-up (gamma iterations) is the learning rate's.
    assert ema.gamma == cfg.param_scheduler[0].end


JITTER = osp.join(
    OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-scale-jitter-voc.py'
)


def test_scale_jitter_is_one_transform_after_the_recipes_flips():
    """The recipe's training pipeline with MMDetection's RandomAffine
    inserted after the flips, scaling only (no rotation, no shear), over a
    range about as wide either way in log scale (0.75 x 1.33 = 1), so the
    mean object size stays the fitted one."""
    import math

    pipe = Config.fromfile(JITTER).train_dataloader.dataset.pipeline
    base = Config.fromfile(RECIPE).train_dataloader.dataset.pipeline
    types = [t.type for t in pipe]
    i = types.index('RandomAffine')
    assert types[i - 1] == 'RandomFlip'
    assert pipe[:i] + pipe[i + 1 :] == base
    affine = pipe[i]
    assert affine.max_rotate_degree == affine.max_shear_degree == 0
    lo, hi = affine.scaling_ratio_range
    assert lo < 1 < hi
    assert math.log(hi) == pytest.approx(-math.log(lo), abs=0.01)


def test_scale_jitter_keeps_the_image_and_scales_its_boxes():
    """The config's RandomAffine, built by MMDetection: each image keeps
    the size Resize gave it (an iteration costs the recipe's), every box of
    it is scaled by one factor drawn within the range, its shape kept (no
    rotation, no shear), both ways over draws; a box moved out of the image
    is dropped with its label."""
    import random

    import numpy as np
    from mmdet.registry import TRANSFORMS
    from mmdet.structures.bbox import HorizontalBoxes

    cfg = Config.fromfile(JITTER)
    spec = next(
        t
        for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'RandomAffine'
    )
    lo, hi = spec.scaling_ratio_range
    affine = TRANSFORMS.build(spec)
    random.seed(0)
    np.random.seed(0)
    factors, dropped = [], 0
    for _ in range(60):
        boxes = np.array([[280, 200, 360, 260], [600, 440, 639, 479]], 'f4')
        out = affine.transform(
            dict(
                img=np.zeros((480, 640, 3), np.uint8),
                gt_bboxes=HorizontalBoxes(boxes),
                gt_bboxes_labels=np.array([0, 1]),
                gt_ignore_flags=np.array([False, False]),
            )
        )
        assert out['img'].shape == (480, 640, 3)
        assert out['img_shape'] == (480, 640)
        got = out['gt_bboxes'].tensor.numpy()
        labels = list(out['gt_bboxes_labels'])
        assert len(got) == len(labels) == len(out['gt_ignore_flags'])
        # The central box never leaves the image (a shift of at most a
        # tenth, a factor of at most 1.33 about the origin).
        assert labels[0] == 0
        w, h = got[0, 2:] - got[0, :2]
        factor = w / 80
        assert h / 60 == pytest.approx(factor, rel=1e-3)
        assert lo - 1e-4 <= factor <= hi + 1e-4
        factors.append(factor)
        dropped += labels == [0]
    assert min(factors) < 0.9 and max(factors) > 1.15
    # Zoomed in or shifted, the corner box leaves the image in some draws.
    assert 0 < dropped < 60


def test_retinanet_keeps_the_recipes_backbone_and_weights():
    base = Config.fromfile(RECIPE)
    cfg = Config.fromfile(
        osp.join(OWN, 'retinanet_mobilenetv2_fpn_adaptive-voc.py')
    )
    assert cfg.model.type == 'RetinaNet'
    assert cfg.model.backbone == base.model.backbone
    assert cfg.model.neck.in_channels == base.model.neck.in_channels
    keep = ('model', 'num_channels')
    assert without(cfg.to_dict(), *keep) == without(base.to_dict(), *keep)
