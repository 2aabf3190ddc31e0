"""The demo Libra detectors (all of this package's components inside
MMDetection's Faster R-CNN and RetinaNet) give finite losses and gradients
on degenerate batches fed through the configs' training pipeline: no ground
truth at all (hence no positive sample), zero-width and zero-height boxes,
a single tiny box. Without the pipeline's box filter, a zero-width box makes
MMDetection's box coder emit infinite targets: our loss then stops with an
error naming itself instead of training on them."""

import functools
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo')


@functools.cache
def build(name):
    """Built once per config; the tests only run forward and backward."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(osp.join(DEMO, name + '_r18_fpn_shapes_demo.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model.train()


def batch(cfg, boxes_per_image, filter_boxes=True):
    """Images with the given boxes through the config's train pipeline
    (minus file loading), collated as the data loader does."""
    from mmdet.structures.bbox import HorizontalBoxes
    from mmengine.dataset import Compose, pseudo_collate
    from mmengine.registry import DefaultScope

    steps = [
        t
        for t in cfg.train_pipeline
        if t['type'] not in ('LoadImageFromFile', 'LoadAnnotations')
    ]
    if not filter_boxes:
        steps = [t for t in steps if t['type'] != 'FilterAnnotations']
    # The transforms' names are MMDetection's (each test starts without a
    # default scope: tests/conftest.py).
    with DefaultScope.overwrite_default_scope('mmdet'):
        pipeline = Compose(steps)
    rng = np.random.default_rng(0)
    out = []
    for i, boxes in enumerate(boxes_per_image):
        boxes = np.array(boxes, dtype=np.float32).reshape(-1, 4)
        out.append(
            pipeline(
                dict(
                    img=rng.integers(0, 256, (256, 256, 3), dtype=np.uint8),
                    img_shape=(256, 256),
                    ori_shape=(256, 256),
                    img_id=i,
                    img_path=f'{i}.png',
                    gt_bboxes=HorizontalBoxes(boxes),
                    gt_bboxes_labels=np.zeros(len(boxes), dtype=np.int64),
                    gt_ignore_flags=np.zeros(len(boxes), dtype=bool),
                )
            )
        )
    return pseudo_collate(out)


CASES = {
    'no ground truth anywhere': [[], []],
    'zero-width and zero-height boxes': [
        [[50, 50, 50, 90]],
        [[10, 20, 60, 20]],
    ],
    'degenerate next to a normal box': [
        [[50, 50, 50, 90], [100, 100, 160, 150]],
        [],
    ],
    'one tiny box': [[[30, 30, 33, 32]], []],
}


def losses_of(model, data):
    data = model.data_preprocessor(data, True)
    return model.loss(data['inputs'], data['data_samples'])


@pytest.mark.parametrize('name', ['libra-faster-rcnn', 'libra-retinanet'])
@pytest.mark.parametrize('case', sorted(CASES))
def test_finite_losses_and_gradients(name, case):
    cfg, model = build(name)
    model.zero_grad(set_to_none=True)
    total, log_vars = model.parse_losses(
        losses_of(model, batch(cfg, CASES[case]))
    )
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), (key, value)
    total.backward()
    for pname, p in model.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), pname


@pytest.mark.parametrize('name', ['libra-faster-rcnn', 'libra-retinanet'])
def test_unfiltered_zero_width_box_stops_at_the_loss(name):
    cfg, model = build(name)
    data = batch(
        cfg, CASES['zero-width and zero-height boxes'], filter_boxes=False
    )
    with pytest.raises(
        FloatingPointError,
        match=r'^BalancedL1Loss: .*target has \d+ non-finite',
    ):
        losses_of(model, data)
