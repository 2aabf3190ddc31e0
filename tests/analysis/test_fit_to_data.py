"""AdaptToDataHook and the own-dataset configs: the schedule does not
depend on the dataset's size; under MMDetection's tools/train.py the hook
logs and keeps its choices, applies them to the pipelines and the anchors,
and a resumed run continues exactly."""

import json
import os.path as osp

import pytest
import torch

from mmdet_libra_ext.engine.hooks import AdaptToDataHook
from tests.resume_checks import assert_identical
from tests.tool_runs import train

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
OWN = osp.join(ROOT, 'configs', 'own_dataset')
CONFIGS = ['faster-rcnn', 'libra-faster-rcnn', 'retinanet']


def test_bad_options_are_named():
    with pytest.raises(ValueError, match='smallest=40'):
        AdaptToDataHook(smallest=40, largest=30)
    with pytest.raises(ValueError, match='bpr_target=1.5'):
        AdaptToDataHook(bpr_target=1.5)
    with pytest.raises(TypeError, match="anchors='yes'"):
        AdaptToDataHook(anchors='yes')


@pytest.mark.parametrize('name', CONFIGS)
def test_the_schedule_is_in_iterations_whatever_the_data(name):
    """The same loop, learning rate, validation and checkpoint schedule for
    a dataset of 5 images and one of 500: nothing counts epochs."""
    from mmengine.config import Config

    path = osp.join(OWN, f'{name}_r18_fpn_adaptive-voc.py')
    a, b = Config.fromfile(path), Config.fromfile(path)
    for cfg, root, n in ((a, 'data/a/', 5), (b, 'data/b/', 500)):
        cfg.merge_from_dict(
            {
                'train_dataloader.dataset.data_root': root,
                'train_dataloader.dataset.indices': n,
            }
        )
    for key in (
        'train_cfg',
        'param_scheduler',
        'default_hooks',
        'custom_hooks',
    ):
        assert a[key] == b[key], key
    assert a.train_cfg.type == 'IterBasedTrainLoop'
    assert all(not s.get('by_epoch', True) for s in a.param_scheduler)
    assert a.default_hooks.checkpoint.by_epoch is False
    assert a.default_hooks.checkpoint.save_best == 'voc12/mAP'
    # Each evaluation logged at its iteration: the best can be read back.
    assert a.default_hooks.logger.log_metric_by_epoch is False
    assert a.train_dataloader.sampler.type == 'InfiniteSampler'
    assert any(
        h['type'] == 'mmdet_libra_ext.AdaptToDataHook' for h in a.custom_hooks
    )


def _options(root, max_iters=4):
    return (
        ['--cfg-options']
        + [
            f'{split}_dataloader.dataset.{k}={v}'
            for split in ('train', 'val', 'test')
            for k, v in (
                ('data_root', root),
                ('metainfo.classes', '[RBC,WBC,Platelets]'),
            )
        ]
        + [
            'model.roi_head.bbox_head.num_classes=3',
            f'train_cfg.max_iters={max_iters}',
            'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2',
            'default_hooks.checkpoint.max_keep_ckpts=-1',
            'default_hooks.logger.interval=1',
            'train_dataloader.batch_size=2',
            'randomness.deterministic=True',
        ]
    )


@pytest.mark.slow
def test_under_train_py_the_choices_are_logged_kept_and_resumed(
    bccd_like_root, mmdet_tools, tmp_path
):
    config = osp.join(OWN, 'libra-faster-rcnn_r18_fpn_adaptive-voc.py')
    full = str(tmp_path / 'full')
    log = train(mmdet_tools, config, full, _options(bccd_like_root))
    assert 'AdaptToDataHook (read from the training boxes)' in log
    assert 'best possible recall at IoU 0.5' in log
    choices = json.load(open(osp.join(full, 'adapt_to_data.json')))
    # The discs of the fixture: 40 to 190 px at 640 x 480, so no resize is
    # needed (p10 at least 24 px, p90 at most 320 px).
    assert choices['num_images'] == 4
    assert choices['input_scale']['scale'] == 1.0
    fit = choices['anchors']['rpn_head']
    assert 0 <= fit['before']['bpr'] <= fit['after']['bpr'] <= 1
    # Kept in the checkpoints, with the best one on validation.
    ckpt = torch.load(osp.join(full, 'iter_4.pth'), weights_only=True)
    assert json.loads(ckpt['adapt_to_data']) == choices
    assert any(
        n.startswith('best_voc12_mAP') for n in __import__('os').listdir(full)
    )
    # Resumed from iteration 2: the choices come from the checkpoint and the
    # end is the uninterrupted run's.
    resumed = str(tmp_path / 'resumed')
    log = train(
        mmdet_tools,
        config,
        resumed,
        _options(bccd_like_root),
        resume=osp.join(full, 'iter_2.pth'),
    )
    end = torch.load(osp.join(resumed, 'iter_4.pth'), weights_only=True)
    assert_identical(ckpt['state_dict'], end['state_dict'])
    assert json.loads(end['adapt_to_data']) == choices


def _hooked_runner(root, work_dir, name='faster-rcnn', **hook):
    """A runner of the own-dataset config ``name`` on ``root`` with its
    training and validation loops built, after the hooks' ``before_run``."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmdet_libra_ext  # noqa: F401

    cfg = Config.fromfile(
        osp.join(OWN, f'{name}_r18_fpn_adaptive-voc.py'),
    )
    cfg.merge_from_dict(
        {
            f'{s}_dataloader.dataset.{k}': v
            for s in ('train', 'val', 'test')
            for k, v in (
                ('data_root', root),
                ('metainfo', dict(classes=('RBC', 'WBC', 'Platelets'))),
            )
        }
    )
    head = 'bbox_head' if name == 'retinanet' else 'roi_head.bbox_head'
    cfg.merge_from_dict({f'model.{head}.num_classes': 3})
    cfg.custom_hooks[0] = dict(type='mmdet_libra_ext.AdaptToDataHook', **hook)
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner._val_loop = runner.build_val_loop(runner._val_loop)
    runner.call_hook('before_run')
    found = next(h for h in runner.hooks if isinstance(h, AdaptToDataHook))
    return runner, found


@pytest.mark.slow
def test_an_input_scale_reaches_the_pipelines_and_anchors_the_model(
    bccd_like_root, tmp_path
):
    """Objects made small on purpose (smallest=100 px wanted): the hook
    doubles the images, in the training and validation pipelines."""
    runner, hook = _hooked_runner(
        bccd_like_root, tmp_path, smallest=100, largest=1000
    )
    scale = hook.choices['input_scale']['scale']
    assert scale > 1.5
    data = runner.train_dataloader.dataset[0]
    ori = data['data_samples'].ori_shape
    assert data['inputs'].shape[1] == round(ori[0] * scale)
    val = runner.val_dataloader.dataset[0]
    assert val['inputs'].shape[1] == round(ori[0] * scale)
    fit = hook.choices['anchors']['rpn_head']
    gen = runner.model.rpn_head.prior_generator
    if fit['changed']:
        assert list(gen.scales.tolist()) == pytest.approx(fit['cfg']['scales'])


@pytest.mark.slow
def test_without_a_fitted_scale_anchors_fit_the_pipelines_resize(
    bccd_like_root, tmp_path
):
    """input_scale=False: the anchors are judged on the boxes as the
    config's own Resize (1333 x 800, ratio kept) presents them, 5/3 of the
    640 x 480 annotations, not on the annotations' pixels."""
    from mmdet.registry import TASK_UTILS

    from mmdet_libra_ext.analysis import box_stats as S

    runner, hook = _hooked_runner(bccd_like_root, tmp_path, input_scale=False)
    assert 'input_scale' not in hook.choices
    assert hook.choices['pipeline_scale'] == pytest.approx(5 / 3)
    images = S.dataset_instances(runner.train_dataloader.dataset)
    wh = S.box_wh(torch.cat([b for _, b, _ in images])) * 5 / 3
    gen = TASK_UTILS.build(runner.cfg.model.rpn_head.anchor_generator)
    fit = hook.choices['anchors']['rpn_head']
    expected = S.best_possible_recall(wh, S.generator_shapes(gen), 0.5)
    assert fit['before'] == pytest.approx(expected)
    # The images themselves are not resized by the hook.
    data = runner.train_dataloader.dataset[0]
    ori = data['data_samples'].ori_shape
    assert data['inputs'].shape[1] == round(ori[0] * 5 / 3)


@pytest.mark.parametrize('name', CONFIGS)
def test_the_documented_override_keeps_left_right_flips_only(name):
    """docs/own_dataset.md: the two --cfg-options for images with an up
    and down reach the recipe's RandomFlip."""
    from mmengine.config import Config, DictAction

    parser = __import__('argparse').ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    doc = open(osp.join(ROOT, 'docs', 'own_dataset.md')).read()
    line = doc.split('`--cfg-options ')[1].split('`')[0].split()
    args = parser.parse_args(['--cfg-options', *line])
    cfg = Config.fromfile(osp.join(OWN, f'{name}_r18_fpn_adaptive-voc.py'))
    flip = cfg.train_dataloader.dataset.pipeline[3]
    assert flip.type == 'RandomFlip'
    assert flip.direction == ['horizontal', 'vertical', 'diagonal']
    cfg.merge_from_dict(args.cfg_options)
    flip = cfg.train_dataloader.dataset.pipeline[3]
    assert (flip.direction, flip.prob) == ('horizontal', 0.5)


@pytest.mark.slow
def test_retinanet_heads_anchors_are_fitted(bccd_like_root, tmp_path):
    """A one-stage head: the hook finds RetinaNet's anchor generator, and
    where its best possible recall is below the target (objects made small
    on purpose: largest=60 px shrinks the images), fits its
    octave_base_scale and ratios, keeping scales_per_octave and strides."""
    from mmdet_libra_ext.analysis import box_stats as S

    runner, hook = _hooked_runner(
        bccd_like_root, tmp_path, 'retinanet', smallest=8, largest=60
    )
    fit = hook.choices['anchors']['bbox_head']
    assert 'rpn_head' not in hook.choices['anchors']
    assert fit['changed'] and fit['after']['bpr'] > fit['before']['bpr']
    gen = runner.model.bbox_head.prior_generator
    assert gen.octave_base_scale == fit['cfg']['octave_base_scale'] != 4
    assert gen.scales_per_octave == 3
    assert [s[0] for s in gen.strides] == [8, 16, 32, 64, 128]
    assert S.best_possible_recall(
        torch.cat(
            [
                S.box_wh(b)
                for _, b, _ in S.dataset_instances(
                    runner.train_dataloader.dataset
                )
            ]
        )
        * hook.choices['input_scale']['scale'],
        S.generator_shapes(gen),
        0.5,
    ) == pytest.approx(fit['after'])


@pytest.mark.slow
def test_test_caps_are_raised_for_dense_data_and_never_lowered(
    bccd_like_root, tmp_path
):
    """The fixture's images are 640 x 480 (0.3072 Mpx). Objects 1000 per
    megapixel would put 307 in one: twice that, 615, is the final cap;
    the RPN's caps follow by the same factor; 10 per megapixel leave the
    config's caps."""
    from mmdet_libra_ext.engine.hooks.detection_caps import raise_caps

    runner, hook = _hooked_runner(bccd_like_root, tmp_path)
    # The fixture: 5 discs in each 640 x 480 image and, in one, the
    # zero-size box: 6 instances, well under the caps.
    assert hook.choices['boxes_per_mpx'] == pytest.approx(6 / 0.3072)
    assert hook.caps['factor'] == 1.0
    rpn, rcnn = runner.model.rpn_head.test_cfg, runner.model.roi_head.test_cfg
    assert (rpn.nms_pre, rpn.max_per_img, rcnn.max_per_img) == (500, 300, 100)
    caps = raise_caps(runner, 1000.0, hook.config_caps)
    assert caps['factor'] == pytest.approx(6.15)
    # The images evaluated (the validation loop's), not the training
    # loop's: raise_caps tells them apart by the evaluator.
    assert caps['largest_mpx'] == pytest.approx(0.3072)
    assert hasattr(runner.val_loop, 'evaluator')
    assert not hasattr(runner.train_loop, 'evaluator')
    assert (rpn.nms_pre, rpn.max_per_img, rcnn.max_per_img) == (
        3075,
        1845,
        615,
    )
    raise_caps(runner, 10.0, hook.config_caps)
    assert (rpn.nms_pre, rpn.max_per_img, rcnn.max_per_img) == (500, 300, 100)


@pytest.mark.slow
def test_under_test_time_augmentation_the_wrapped_detector_is_fitted(
    bccd_like_root, tmp_path
):
    """tools/test.py --tta wraps the detector (and its config) in the TTA
    model: the hook still finds the heads, fits their anchors (objects made
    small on purpose) and raises the TTA model's cap with the others."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmdet_libra_ext.engine.hooks.detection_caps import raise_caps

    cfg = Config.fromfile(osp.join(OWN, 'faster-rcnn_r18_fpn_adaptive-voc.py'))
    cfg.merge_from_dict(
        {
            f'test_dataloader.dataset.{k}': v
            for k, v in (
                ('data_root', bccd_like_root),
                ('metainfo', dict(classes=('RBC', 'WBC', 'Platelets'))),
            )
        }
    )
    cfg.merge_from_dict(
        {
            'train_dataloader.dataset.data_root': bccd_like_root,
            'train_dataloader.dataset.metainfo': dict(
                classes=('RBC', 'WBC', 'Platelets')
            ),
            'model.roi_head.bbox_head.num_classes': 3,
        }
    )
    cfg.custom_hooks[0] = dict(
        type='mmdet_libra_ext.AdaptToDataHook', smallest=8, largest=60
    )
    cfg.model = dict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    runner._test_loop = runner.build_test_loop(runner._test_loop)
    runner.call_hook('before_run')
    hook = next(h for h in runner.hooks if isinstance(h, AdaptToDataHook))
    fit = hook.choices['anchors']['rpn_head']
    assert fit['changed']
    gen = runner.model.module.rpn_head.prior_generator
    assert gen.scales.tolist() == pytest.approx(fit['cfg']['scales'])
    raise_caps(runner, 1000.0, hook.config_caps)
    assert runner.model.tta_cfg['max_per_img'] == 615
    assert runner.model.module.roi_head.test_cfg.max_per_img == 615
