"""Export of this package's detectors through mmdeploy.

The mmdeploy rewriters here change how MMDetection's *own* modules export
(``BFP.forward``, ``RPNHead.predict_by_feat``, ``BBoxHead.predict_by_feat``),
so importing ``mmdet_libra_ext`` does not register them: they are switched
on explicitly, and say so in the log, by either

- a config key: ``custom_imports = dict(imports=['mmdet_libra_ext',
  'mmdet_libra_ext.deploy.mmdet_rewriters'])`` in the model config that
  mmdeploy's ``tools/deploy.py`` reads, or
- a call: :func:`enable_mmdet_rewriters` (``tools/deployment/export_onnx.py``
  makes it).
"""


def enable_mmdet_rewriters() -> None:
    """Register this package's mmdeploy rewriters of MMDetection's own
    modules (docs/deploy.md), once; logs what is switched on."""
    from . import mmdet_rewriters  # noqa: F401  (registers on import)


__all__ = ['enable_mmdet_rewriters']
