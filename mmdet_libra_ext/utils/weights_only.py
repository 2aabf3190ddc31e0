"""Checkpoints that load with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` only unpickles tensors, primitive containers
and allow-listed globals. mmengine's checkpoints also hold the message hub's
``HistoryBuffer`` objects, whose ``_statistics_methods`` dict pickles class
functions through ``builtins.getattr`` (allow-listing that would let a
checkpoint call any attribute: unsafe), plus numpy arrays and scalars.

This module allow-lists, on import of the package, exactly the harmless
numpy globals (arrays, dtypes and scalars are rebuilt from plain data,
nothing is called), and converts the runtime state of a checkpoint to plain
Python and tensor values (:func:`to_weights_only`) and back
(:func:`from_weights_only`).
:class:`~mmdet_libra_ext.engine.hooks.WeightsOnlyCheckpointHook` applies
them when a run saves and loads checkpoints, so ``--resume`` and
``load_from`` work with ``weights_only=True``, and the checkpoints also load
in plain torch/MMDetection without this package. ``weights_only`` is never
switched off.
"""

from collections import OrderedDict
from typing import Any, List

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mmdet_libra_ext.utils.compat import (
    HAS_SAFE_GLOBALS,
    numpy_multiarray,
    numpy_reconstruct,
)

#: Marker key of a converted object.
TYPE_KEY = '__mmdet_libra_ext_type__'


def _numpy_safe_globals() -> List[Any]:
    multiarray = numpy_multiarray()
    globals_ = [
        np.ndarray,
        np.dtype,
        numpy_reconstruct(),
        multiarray.scalar,
    ]
    # numpy >= 1.25 pickles dtypes through their classes as well.
    for t in (
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.bool_,
    ):
        globals_.append(type(np.dtype(t)))
    return globals_


SAFE_GLOBALS = _numpy_safe_globals()


def register_safe_globals() -> None:
    """Allow-list the harmless numpy globals for ``weights_only`` loading.

    torch < 2.4 has no allow-list to extend (its ``weights_only`` loader
    refuses every numpy global); the checkpoints this package writes hold
    none (:func:`to_weights_only`), so they load there as well.
    """
    if HAS_SAFE_GLOBALS:
        torch.serialization.add_safe_globals(SAFE_GLOBALS)


def to_weights_only(obj: Any) -> Any:
    """Return ``obj`` with every value ``weights_only`` cannot load replaced
    by a plain, reversible form (tensors stay shared, not copied)."""
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, HistoryBuffer):
        return {
            TYPE_KEY: 'HistoryBuffer',
            # (HistoryBuffer.data: its public (log, count) histories.)
            'log_history': torch.from_numpy(np.array(obj.data[0])),
            'count_history': torch.from_numpy(np.array(obj.data[1])),
            'max_length': int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        return {TYPE_KEY: 'ndarray', 'data': torch.from_numpy(obj.copy())}
    if isinstance(obj, np.generic):
        return {
            TYPE_KEY: 'numpy_scalar',
            'dtype': obj.dtype.str,
            'value': obj.item(),
        }
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_weights_only(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_weights_only(v) for v in obj]
    if isinstance(obj, tuple) and type(obj) is tuple:
        return tuple(to_weights_only(v) for v in obj)
    return obj


def from_weights_only(obj: Any) -> Any:
    """Invert :func:`to_weights_only`."""
    if isinstance(obj, dict) and TYPE_KEY in obj:
        kind = obj[TYPE_KEY]
        if kind == 'HistoryBuffer':
            return HistoryBuffer(
                log_history=obj['log_history'].numpy(),
                count_history=obj['count_history'].numpy(),
                max_length=obj['max_length'],
            )
        if kind == 'ndarray':
            return obj['data'].numpy()
        if kind == 'numpy_scalar':
            return np.dtype(obj['dtype']).type(obj['value'])
        raise ValueError(f'unknown converted checkpoint type {kind!r}')
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, from_weights_only(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: from_weights_only(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_weights_only(v) for v in obj]
    if isinstance(obj, tuple) and type(obj) is tuple:
        return tuple(from_weights_only(v) for v in obj)
    return obj


register_safe_globals()
