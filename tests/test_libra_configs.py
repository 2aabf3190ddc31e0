"""The COCO Libra configs are MMDetection's stock recipes with our types."""

import os.path as osp

import mmdet
import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
from tests.config_dicts import without  # noqa: E402

STOCK = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'libra_rcnn')
NAMES = [
    'libra-faster-rcnn_r50_fpn_1x_coco.py',
    'libra-faster-rcnn_r101_fpn_1x_coco.py',
    'libra-faster-rcnn_x101-64x4d_fpn_1x_coco.py',
    'libra-fast-rcnn_r50_fpn_1x_coco.py',
    'libra-retinanet_r50_fpn_1x_coco.py',
]


def descope(obj):
    """Our types as MMDetection's names, without the ``_scope_`` marks that
    mmengine adds to what comes from an ``mmdet::`` base."""
    if isinstance(obj, dict):
        return {k: descope(v) for k, v in obj.items() if k != '_scope_'}
    if isinstance(obj, (list, tuple)):
        return type(obj)(descope(v) for v in obj)
    if isinstance(obj, str) and obj.startswith('mmdet_libra_ext.'):
        return obj[len('mmdet_libra_ext.') :]
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


def _cfg(name):
    return Config.fromfile(osp.join(ROOT, 'configs', 'libra_rcnn', name))


RPN_PARTS = ('model.rpn_head.loss_bbox', 'model.train_cfg.rpn.sampler')


def test_libra_rpn_is_the_stock_rpn_with_the_three_components():
    ours = _cfg('libra-rpn_r50_fpn_1x_coco.py').to_dict()
    stock = Config.fromfile(
        osp.join(osp.dirname(STOCK), 'rpn', 'rpn_r50_fpn_1x_coco.py')
    ).to_dict()
    assert ours['val_evaluator']['metric'] == 'proposal_fast'
    sampler = ours['model']['train_cfg']['rpn']['sampler']
    assert sampler['num'] == 256 and sampler['add_gt_as_proposals'] is False
    assert sampler['neg_sampler']['bin_range'] == 'negatives'
    assert ours['model']['rpn_head']['loss_bbox']['beta'] == 0.11
    # The BFP neck is the Libra Faster R-CNN's.
    libra = _cfg('libra-faster-rcnn_r50_fpn_1x_coco.py').to_dict()
    assert ours['model']['neck'] == libra['model']['neck']
    for key in ('val_evaluator', 'test_evaluator'):
        assert ours[key].pop('type') == 'mmdet_libra_ext.CocoProposalMetric'
        assert stock[key].pop('type') == 'CocoMetric'
    parts = RPN_PARTS + (
        'model.neck',
        'custom_imports',
        'custom_hooks',
        'default_hooks',
    )
    assert descope(without(ours, *parts)) == descope(without(stock, *parts))


def test_libra_faster_rcnn_with_libra_rpn_changes_only_the_rpn():
    ours = _cfg('libra-faster-rcnn-libra-rpn_r50_fpn_1x_coco.py').to_dict()
    libra = _cfg('libra-faster-rcnn_r50_fpn_1x_coco.py').to_dict()
    rpn = _cfg('libra-rpn_r50_fpn_1x_coco.py').to_dict()
    assert without(ours, *RPN_PARTS) == without(libra, *RPN_PARTS)
    assert (
        ours['model']['rpn_head']['loss_bbox']
        == rpn['model']['rpn_head']['loss_bbox']
    )
    # The released recipe's neg_pos_ub=5 is kept.
    assert ours['model']['train_cfg']['rpn']['sampler'] == dict(
        rpn['model']['train_cfg']['rpn']['sampler'], neg_pos_ub=5
    )
