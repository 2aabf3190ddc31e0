"""Every config of the package loads and builds its detector."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                           recursive=True))


def test_there_are_configs():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, ROOT) for p in CONFIGS])
def test_config_builds(path):
    import mmdet_libra_ext  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmdet_libra_ext']
    assert cfg.custom_imports.allow_failed_imports is False
    text = open(path).read()
    if '/demo/' in path:
        # Demo configs download nothing: no pretrained weights. (COCO/VOC
        # recipes keep MMDetection's ImageNet-pretrained backbones.)
        assert 'torchvision://' not in cfg.pretty_text
        assert 'http' not in cfg.pretty_text.replace('https://mmengine', '')
    model = MODELS.build(cfg.model)
    # Our components are named with the scope, never by bare name.
    for name in ('BalancedL1Loss', 'BFP', 'IoUBalancedNegSampler',
                 'InstanceBalancedPosSampler', 'FocalLoss'):
        assert f"type='{name}'" not in text
    mods = {type(m).__module__ for m in model.modules()}
    assert any(m.startswith('mmdet.') for m in mods)
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert 'mmdet_libra_ext.WeightsOnlyCheckpointHook' in hooks
