"""mmdeploy rewriters of this package, registered when mmdeploy imports.

``import mmdet_libra_ext`` imports this module when mmdeploy is installed,
so mmdeploy's own tools (``tools/deploy.py``) and this package's
``tools/deploy/export_onnx.py`` find the rewriters.
"""

from .bfp_rewriter import bfp__forward

__all__ = ['bfp__forward']
