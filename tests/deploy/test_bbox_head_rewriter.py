"""The mmdeploy rewriter for ``BBoxHead.predict_by_feat``: under it the
exported computation makes MMDetection's detections (each class with its
own regressed box), where mmdeploy's own rewriter gives every class the
box of the RoI's best class."""

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


def _head_outputs(seed, num=30):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(DEMO)
    torch.manual_seed(seed)
    head = MODELS.build(cfg.model.roi_head.bbox_head).eval()
    xy = torch.rand(num, 2) * 200
    wh = torch.rand(num, 2) * 50 + 5
    rois = torch.cat([torch.zeros(num, 1), xy, xy + wh], 1)
    # Several classes above the score threshold per RoI (ambiguous RoIs).
    cls_scores = torch.randn(num, head.num_classes + 1) * 1.5
    bbox_preds = torch.randn(num, 4 * head.num_classes) * 0.5
    metas = [dict(img_shape=(256, 256), scale_factor=(1.0, 1.0))]
    return cfg, head, rois, cls_scores, bbox_preds, metas


def _rows(boxes, scores, labels):
    order = torch.argsort(scores * 10 + labels.float() * 1e-3, descending=True)
    return boxes[order], scores[order], labels[order]


@pytest.mark.parametrize('seed', [0, 1])
def test_detections_equal_mmdetections(seed):
    cfg, head, rois, cls_scores, bbox_preds, metas = _head_outputs(seed)
    rcnn = cfg.model.test_cfg.rcnn
    with torch.no_grad():
        ref = head.predict_by_feat(
            (rois,), (cls_scores,), (bbox_preds,), metas, rcnn
        )[0]
    deploy_cfg = deploy_config(cfg, (256, 256), 'end2end.onnx')
    batched = (rois[None], cls_scores[None], bbox_preds[None])
    results = {}
    for backend in ('onnxruntime', 'default'):  # ours, mmdeploy's
        with RewriterContext(cfg=deploy_cfg, backend=backend):
            with torch.no_grad():
                dets, labels = head.predict_by_feat(*batched, metas, rcnn)
        keep = dets[0][:, 4] > 0
        results[backend] = (dets[0][keep], labels[0][keep])
    # Below the cap: second classes of a RoI are among the detections.
    assert len(ref.bboxes) > len(rois)
    dets, labels = results['onnxruntime']
    ours = _rows(dets[:, :4], dets[:, 4], labels)
    theirs = _rows(ref.bboxes, ref.scores, ref.labels)
    assert ours[0].shape == theirs[0].shape
    torch.testing.assert_close(ours[1], theirs[1], rtol=0, atol=1e-6)
    torch.testing.assert_close(ours[2], theirs[2])
    torch.testing.assert_close(ours[0], theirs[0], rtol=0, atol=1e-4)
    # mmdeploy's rewriter: other boxes for the same scores.
    dets, labels = results['default']
    other = _rows(dets[:, :4], dets[:, 4], labels)
    assert other[0].shape != theirs[0].shape or not torch.allclose(
        other[0], theirs[0], atol=1e-3
    )
