"""What the installed torch and numpy provide, decided once at import.

This package runs on every stack ``setup.py`` claims (docs/compatibility.md);
code whose behaviour depends on a version asks here instead of testing
versions or private attributes itself.
"""

import importlib
import inspect
from types import ModuleType

import numpy as np
import torch
from mmengine.utils import digit_version

TORCH_VERSION = digit_version(torch.__version__)
NUMPY_VERSION = digit_version(np.__version__)

#: ``F.scaled_dot_product_attention(..., scale=)`` (torch >= 2.1).
SDPA_HAS_SCALE = TORCH_VERSION >= (2, 1)
#: ``torch.serialization.add_safe_globals`` / ``get_safe_globals``
#: (torch >= 2.4).
HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'add_safe_globals')
#: ``torch.serialization.get_unsafe_globals_in_checkpoint`` (torch >= 2.5).
HAS_UNSAFE_GLOBALS_SCAN = hasattr(
    torch.serialization, 'get_unsafe_globals_in_checkpoint'
)

#: ``torch.onnx.export(..., dynamo=)``: the choice of exporter (torch >= 2.5;
#: before, only the TorchScript exporter is there).
ONNX_EXPORT_HAS_DYNAMO = (
    'dynamo' in inspect.signature(torch.onnx.export).parameters
)


def torchscript_onnx_export_kwargs() -> dict:
    """Keyword arguments that select the TorchScript ONNX exporter on
    every torch (``dynamo=False`` where there is a choice)."""
    return {'dynamo': False} if ONNX_EXPORT_HAS_DYNAMO else {}


def numpy_multiarray() -> ModuleType:
    """numpy's ``multiarray`` module under its public pickling name:
    ``numpy._core.multiarray`` from numpy 2 on, ``numpy.core.multiarray``
    before (numpy 1.26 has a ``numpy._core`` stub without it)."""
    name = 'numpy._core' if NUMPY_VERSION >= (2,) else 'numpy.core'
    return importlib.import_module(f'{name}.multiarray')
