"""Importing this module switches on this package's mmdeploy rewriters of
MMDetection's own modules (see :mod:`mmdet_libra_ext.deploy`), and says so
in the log."""

from mmengine.logging import print_log

from .bbox_head_rewriter import bbox_head__predict_by_feat__per_class_boxes
from .bfp_rewriter import bfp__forward
from .rpn_head_rewriter import rpn_head__predict_by_feat__per_level_nms

#: What the rewriters change, as the log line names it.
REWRITTEN = (
    'mmdet.models.necks.BFP.forward',
    'mmdet.models.dense_heads.RPNHead.predict_by_feat (onnxruntime)',
    'mmdet.models.roi_heads.BBoxHead.predict_by_feat (onnxruntime)',
)

print_log(
    'mmdet_libra_ext: mmdeploy rewriters switched on for '
    + ', '.join(REWRITTEN),
    'current',
)

__all__ = [
    'bbox_head__predict_by_feat__per_class_boxes',
    'bfp__forward',
    'rpn_head__predict_by_feat__per_level_nms',
]
