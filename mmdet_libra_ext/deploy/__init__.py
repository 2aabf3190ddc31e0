"""mmdeploy rewriters of this package, registered when mmdeploy imports.

``import mmdet_libra_ext`` imports this module when mmdeploy is installed,
so mmdeploy's own tools (``tools/deploy.py``) and this package's
``tools/deployment/export_onnx.py`` find the rewriters.
"""

from .bbox_head_rewriter import bbox_head__predict_by_feat__per_class_boxes
from .bfp_rewriter import bfp__forward
from .rpn_head_rewriter import rpn_head__predict_by_feat__per_level_nms

__all__ = [
    'bbox_head__predict_by_feat__per_class_boxes',
    'bfp__forward',
    'rpn_head__predict_by_feat__per_level_nms',
]
