"""The smallest changes that let mmdeploy 1.3.1 (its last release, 2023)
export with today's torch, applied only inside :func:`torch_compat`.

On torch >= 2.9 mmdeploy's ``torch2onnx`` fails in three places:

1. ``torch.onnx.export`` now defaults to the dynamo exporter, for which
   mmdeploy's symbolic rewriters mean nothing: the TorchScript exporter is
   asked for explicitly (``dynamo=False``).
2. ``torch.fx``'s ``_wrapped_fns_to_patch`` became a dict; mmdeploy's
   function rewriter appends to it and pops index -1 on exit (``KeyError``).
   mmdeploy gets a list of its own (its ``torch.fx.wrap`` bookkeeping then
   sees no fx-wrapped function, which none of the exported detectors has).
3. mmdeploy's symbolic of mmcv's RoIAlign imports
   ``torch.onnx.symbolic_opset9._cast_Long``, which is gone: an equivalent
   ``Cast`` to int64 is provided.

Each patch is applied only where torch needs it and undone on exit; the
private names are read in :mod:`mmdet_libra_ext.utils.compat`.
"""

import contextlib
import functools
from typing import Iterator

import torch

from mmdet_libra_ext.utils.compat import (
    mmdeploy_export_patches,
    torchscript_onnx_export_kwargs,
)


@contextlib.contextmanager
def torch_compat() -> Iterator[None]:
    """Run mmdeploy's export inside this context."""
    undo = mmdeploy_export_patches()
    export = torch.onnx.export
    torchscript = torchscript_onnx_export_kwargs()
    if torchscript:
        torch.onnx.export = functools.partial(export, **torchscript)
        undo.append(lambda: setattr(torch.onnx, 'export', export))
    try:
        yield
    finally:
        for fn in reversed(undo):
            fn()
