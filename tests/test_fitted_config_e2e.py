"""The fitted config of the recipe a user copies (ImageNet weights given
offline: converted random weights here, nothing is downloaded) through
MMDetection's own entry points: trained by tools/train.py, tested by
tools/test.py (with and without --tta), and DetInferencer, with the
config the user fitted and with the copy in the work dir, detects what
tools/test.py detects, image by image, at the fitted input scale."""

import glob
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.analysis.test_fit_to_data import CLASSES, _config, _options
from tests.tool_runs import ROOT, train

SCHEDULE = [
    '--cfg-options',
    'train_cfg.max_iters=4',
    'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2',
    'default_hooks.checkpoint.max_keep_ckpts=-1',
    'default_hooks.logger.interval=1',
    'train_dataloader.batch_size=2',
    'randomness.deterministic=True',
]


def _test_py(mmdet_tools, config, checkpoint, work, out, tta=False):
    cmd = [
        sys.executable,
        osp.join(mmdet_tools, 'test.py'),
        config,
        checkpoint,
        '--work-dir',
        work,
        '--out',
        out,
    ] + (['--tta'] if tta else [])
    run = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(out, 'rb') as f:
        return {osp.basename(r['img_path']): r for r in pickle.load(f)}


@pytest.mark.slow
def test_every_entry_point_sees_the_fitted_config(
    bccd_like_root, mmdet_tools, mobilenetv2_weights, tmp_path
):
    from mmdet.apis import DetInferencer

    from mmdet_libra_ext.analysis.fitted_config import write_fitted_config

    # largest=150 px: the 190 px discs make the images shrink (0.8125), so
    # a tool at the base config's 1333 x 800 would see other images.
    fitted = str(tmp_path / 'recipe_fitted.py')
    options = _options(bccd_like_root, largest=150)
    options['model.test_cfg.rcnn.score_thr'] = 0.0
    # The recipe's documented offline switch.
    options['model.backbone.init_cfg.checkpoint'] = mobilenetv2_weights
    choices = write_fitted_config(_config(), fitted, options)
    scale = choices['input_scale']['scale']
    assert scale == 0.8125
    work = str(tmp_path / 'work')
    train(mmdet_tools, fitted, work, SCHEDULE)
    end = torch.load(osp.join(work, 'iter_4.pth'), weights_only=True)
    assert 'adapt_to_data' not in end  # nothing fitted lives in checkpoints
    best = glob.glob(osp.join(work, 'best_*.pth'))
    ckpt = best[0] if best else osp.join(work, 'iter_4.pth')

    ref = _test_py(
        mmdet_tools, fitted, ckpt, str(tmp_path / 't'), str(tmp_path / 'a.pkl')
    )
    assert len(ref) == 2
    # Detections to compare (the score threshold is 0 in the fitted config).
    assert min(len(r['pred_instances']['bboxes']) for r in ref.values()) > 10
    for r in ref.values():
        assert r['scale_factor'] == pytest.approx((scale, scale), abs=2e-3)
    images = sorted(
        osp.join(bccd_like_root, 'JPEGImages', name) for name in ref
    )
    work_config = osp.join(work, osp.basename(fitted))
    for config in (fitted, work_config):
        inferencer = DetInferencer(model=config, weights=ckpt, device='cpu')
        # The plain dict output (every MMDetection 3.x): every detection,
        # pred_score_thr only filters what is drawn.
        got = inferencer(images)['predictions']
        for path, pred in zip(images, got):
            want = ref[osp.basename(path)]['pred_instances']
            assert len(pred['bboxes']) == len(want['bboxes']), config
            np.testing.assert_allclose(
                np.array(pred['bboxes']).reshape(-1, 4),
                want['bboxes'].numpy(),
                atol=1e-3,
            )
            np.testing.assert_allclose(
                pred['scores'], want['scores'].numpy(), atol=1e-5
            )
            assert pred['labels'] == want['labels'].tolist()
    # Test-time augmentation reads the fitted tta_pipeline.
    tta = _test_py(
        mmdet_tools,
        fitted,
        ckpt,
        str(tmp_path / 'tta'),
        str(tmp_path / 'tta.pkl'),
        tta=True,
    )
    assert sorted(tta) == sorted(ref)
    for r in tta.values():
        assert r['scale_factor'] == pytest.approx((scale, scale), abs=2e-3)
    assert CLASSES == tuple(
        DetInferencer(
            model=fitted, weights=ckpt, device='cpu'
        ).model.dataset_meta['classes']
    )


@pytest.mark.slow
def test_the_coco_recipe_trains_and_is_scored_as_the_voc_one(
    bccd_like_coco_root, mmdet_tools, mobilenetv2_weights, tmp_path
):
    """The COCO-format recipe, fitted, through MMDetection's
    tools/train.py: it trains on the COCO layout, validates with the VOC
    recipe's metrics (VOC AP50 per class, COCO-style box mAP from the
    samples' ground truth) and keeps the best checkpoint on them."""
    from mmdet_libra_ext.analysis.fitted_config import write_fitted_config
    from tests.analysis.test_fit_to_data import OWN

    fitted = str(tmp_path / 'coco_fitted.py')
    options = _options(bccd_like_coco_root)
    options['model.backbone.init_cfg.checkpoint'] = mobilenetv2_weights
    write_fitted_config(
        osp.join(OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-coco.py'),
        fitted,
        options,
    )
    work = str(tmp_path / 'work')
    log = train(mmdet_tools, fitted, work, SCHEDULE)
    assert 'CocoDataset' in open(osp.join(work, 'coco_fitted.py')).read()
    for key in ['voc12/AP50', 'coco/bbox_mAP'] + [
        f'voc12/{c}_AP50' for c in CLASSES
    ]:
        assert f'{key}: ' in log, key
    assert glob.glob(osp.join(work, 'best_voc12_mAP_iter_*.pth'))


@pytest.mark.slow
def test_annotations_of_size_zero_train_through_mmdetections_tools(
    bccd_like_root, mmdet_tools, mobilenetv2_weights, tmp_path
):
    """Training and validation annotations that say 0 x 0: the fitted
    config reads them with ImageFileVOCDataset, which MMDetection's
    tools/train.py builds in its own process (the config's
    custom_imports) for training and validation."""
    import shutil

    from mmdet_libra_ext.analysis.fitted_config import write_fitted_config
    from tests.analysis.test_fit_to_data import _ids, _zero_sizes

    root = str(tmp_path / 'voc') + '/'
    shutil.copytree(bccd_like_root, root)
    _zero_sizes(root, _ids(root, 'train')[:2] + _ids(root, 'val')[:1])
    fitted = str(tmp_path / 'zero_fitted.py')
    options = _options(root)
    options['model.backbone.init_cfg.checkpoint'] = mobilenetv2_weights
    choices = write_fitted_config(_config(), fitted, options)
    assert choices['num_images'] == 4
    assert set(choices['image_sizes']) == {
        'train_dataloader',
        'val_dataloader',
    }
    work = str(tmp_path / 'work')
    log = train(mmdet_tools, fitted, work, SCHEDULE)
    text = open(osp.join(work, 'zero_fitted.py')).read()
    assert text.count("type='mmdet_libra_ext.ImageFileVOCDataset'") == 2
    assert 'voc12/AP50: ' in log
    assert glob.glob(osp.join(work, 'best_voc12_mAP_iter_*.pth'))
