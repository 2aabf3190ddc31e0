"""adapted_config: a run's config with AdaptToDataHook's saved choices
written in, for what builds a model without MMDetection's runner."""

import json

import pytest
import torch

from mmdet_libra_ext.utils.adapted_config import adapted_config, saved_choices
from tests.adapted_checkpoints import CHOICES, FIT, save_adapted
from tests.adapted_checkpoints import OWN_CONFIG as CONFIG


def _resizes(node):
    if isinstance(node, dict):
        found = [node] if node.get('type') == 'Resize' else []
        return found + [r for v in node.values() for r in _resizes(v)]
    if isinstance(node, (list, tuple)):
        return [r for v in node for r in _resizes(v)]
    return []


def test_choices_in_the_checkpoint_reach_pipelines_and_anchors(tmp_path):
    from mmengine.config import Config

    ckpt = save_adapted(tmp_path / 'best.pth')
    cfg = Config.fromfile(CONFIG)
    cfg.tta_model = dict(type='DetTTAModel', tta_cfg=dict(max_per_img=100))
    cfg.model = dict(type='DetTTAModel', module=cfg.model)
    out = adapted_config(cfg, ckpt)
    resizes = [
        r
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for r in _resizes(out[key].dataset.pipeline)
    ] + _resizes(out.tta_pipeline)
    assert len(resizes) == 4  # train, val, test and the TTA pipeline's
    for r in resizes:
        assert r['scale_factor'] == (1.4375, 1.4375) and 'scale' not in r
    assert out.model.module.rpn_head.anchor_generator == FIT
    # The config given is left as it was.
    assert cfg.model.module.rpn_head.anchor_generator.scales == [8]
    assert _resizes(cfg.test_dataloader.dataset.pipeline)[0]['scale']


def test_the_file_beside_a_checkpoint_and_a_run_without_the_hook(tmp_path):
    from mmengine.config import Config

    cfg = Config.fromfile(CONFIG)
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict={}), plain)
    assert saved_choices(plain) is None
    assert adapted_config(cfg, plain) is cfg
    (tmp_path / 'adapt_to_data.json').write_text(json.dumps(CHOICES))
    assert saved_choices(plain) == CHOICES
    out = adapted_config(cfg, plain)
    assert out.model.rpn_head.anchor_generator == FIT


@pytest.mark.slow
def test_init_detector_builds_the_fitted_anchors(tmp_path):
    """MMDetection's init_detector on the adapted config: the model has the
    checkpoint's anchors (the config's own are scales=[8])."""
    from mmdet.apis import init_detector
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    cfg = Config.fromfile(CONFIG)
    model = init_detector(cfg, None, device='cpu')
    ckpt = save_adapted(tmp_path / 'best.pth', model.state_dict())
    model = init_detector(adapted_config(cfg, ckpt), ckpt, device='cpu')
    gen = model.rpn_head.prior_generator
    assert gen.scales.tolist() == [4.0]
    assert gen.ratios.tolist() == pytest.approx([0.8, 1.0, 1.25])
