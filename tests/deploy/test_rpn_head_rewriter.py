"""The mmdeploy rewriter for ``RPNHead.predict_by_feat``: under it the
exported computation makes MMDetection's proposals (per-level NMS, no score
threshold), where mmdeploy's own rewriter does not."""

import os.path as osp

import pytest
import torch

pytest.importorskip('mmdeploy')

import mmdeploy.codebase.mmdet.models  # noqa: E402,F401  (mmdeploy's rewriters)
from mmdeploy.core import RewriterContext  # noqa: E402

import mmdet_libra_ext.deploy.mmdet_rewriters  # noqa: E402,F401  (switched on)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py')
from mmdet_libra_ext.deploy.export import deploy_config  # noqa: E402


def _rpn_outputs(seed):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(DEMO)
    torch.manual_seed(seed)
    rpn = MODELS.build(cfg.model).rpn_head.eval()
    # Livelier scores than an untrained head gives: objectness spread over
    # (0, 1), box deltas of a few pixels.
    for conv in (rpn.rpn_cls, rpn.rpn_reg):
        torch.nn.init.normal_(conv.weight, std=0.3)
    channels = rpn.in_channels
    feats = [torch.randn(1, channels, s, s) for s in (64, 32, 16, 8, 4)]
    with torch.no_grad():
        cls_scores, bbox_preds = rpn(feats)
    metas = [dict(img_shape=(256, 256), scale_factor=(1.0, 1.0))]
    return cfg, rpn, cls_scores, bbox_preds, metas


def _sorted(boxes, scores):
    order = scores.argsort(descending=True)
    return boxes[order], scores[order]


@pytest.mark.parametrize('seed', [0, 1])
def test_proposals_equal_mmdetections(seed):
    cfg, rpn, cls_scores, bbox_preds, metas = _rpn_outputs(seed)
    rpn_cfg = cfg.model.test_cfg.rpn
    with torch.no_grad():
        ref = rpn.predict_by_feat(
            cls_scores, bbox_preds, batch_img_metas=metas, cfg=rpn_cfg
        )[0]
    deploy_cfg = deploy_config(cfg, (256, 256), 'end2end.onnx')
    with RewriterContext(cfg=deploy_cfg, backend='onnxruntime'):
        with torch.no_grad():
            dets, _ = rpn.predict_by_feat(
                cls_scores, bbox_preds, batch_img_metas=metas, cfg=rpn_cfg
            )
        ours = dets[0][dets[0][:, 4] > 0]
    # mmdeploy's own rewriter (the one for every other backend), for
    # contrast.
    with RewriterContext(cfg=deploy_cfg, backend='default'):
        with torch.no_grad():
            theirs, _ = rpn.predict_by_feat(
                cls_scores, bbox_preds, batch_img_metas=metas, cfg=rpn_cfg
            )
        theirs = theirs[0][theirs[0][:, 4] > 0]
    assert len(ref.bboxes) > 100  # proposals compete: NMS matters
    ref_boxes, ref_scores = _sorted(ref.bboxes, ref.scores)
    our_boxes, our_scores = _sorted(ours[:, :4], ours[:, 4])
    assert our_boxes.shape == ref_boxes.shape
    torch.testing.assert_close(our_scores, ref_scores, rtol=0, atol=1e-6)
    torch.testing.assert_close(our_boxes, ref_boxes, rtol=0, atol=1e-4)
    # mmdeploy's rewriter suppresses across levels and thresholds the
    # proposals: another set.
    assert theirs.shape != ours.shape or not torch.allclose(
        _sorted(theirs[:, :4], theirs[:, 4])[0], our_boxes
    )
