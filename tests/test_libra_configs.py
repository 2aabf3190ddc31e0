"""The COCO Libra configs are MMDetection's stock recipes with our types."""
import os.path as osp

import mmdet
import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
STOCK = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                 'libra_rcnn')
NAMES = ['libra-faster-rcnn_r50_fpn_1x_coco.py',
         'libra-faster-rcnn_r101_fpn_1x_coco.py',
         'libra-faster-rcnn_x101-64x4d_fpn_1x_coco.py',
         'libra-fast-rcnn_r50_fpn_1x_coco.py',
         'libra-retinanet_r50_fpn_1x_coco.py']


def descope(obj):
    """Our types as MMDetection's names, without the ``_scope_`` marks that
    mmengine adds to what comes from an ``mmdet::`` base."""
    if isinstance(obj, dict):
        return {k: descope(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(descope(v) for v in obj)
    if isinstance(obj, str) and obj.startswith('mmdet_libra_ext.'):
        return obj[len('mmdet_libra_ext.'):]
    return obj


@pytest.mark.parametrize('name', NAMES)
def test_same_recipe_as_mmdet_stock(name):
    ours = Config.fromfile(osp.join(ROOT, 'configs', 'libra_rcnn', name))
    stock = Config.fromfile(osp.join(STOCK, name))
    ours_d = ours.to_dict()
    stock_d = stock.to_dict()
    for key in ('custom_imports', 'custom_hooks'):
        ours_d.pop(key)
        assert key not in stock_d
    # Our checkpoint hook is MMEngine's, written atomically.
    ckpt = ours_d['default_hooks']['checkpoint']
    assert ckpt.pop('type') == 'mmdet_libra_ext.AtomicCheckpointHook'
    ckpt['type'] = stock_d['default_hooks']['checkpoint']['type']
    # Our components are named with the scope ...
    text = ours.pretty_text
    assert "type='mmdet_libra_ext.BFP'" in text
    assert "type='mmdet_libra_ext.BalancedL1Loss'" in text
    # ... and apart from that, every setting is MMDetection's.
    assert descope(ours_d) == descope(stock_d)
