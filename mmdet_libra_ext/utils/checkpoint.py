"""Checkpoints that load with ``torch.load(weights_only=True)``.

Since torch 2.6 ``torch.load`` only unpickles tensors, primitive containers
and allow-listed globals. mmengine's checkpoints also hold the message hub's
``HistoryBuffer`` objects, whose ``_statistics_methods`` dict pickles class
functions through ``builtins.getattr`` (allow-listing that would let a
checkpoint call any attribute: unsafe), plus numpy arrays and scalars.

This module:

- allow-lists, on import of the package, exactly the harmless numpy globals
  (arrays, dtypes and scalars are rebuilt from plain data, nothing is
  called);
- converts the runtime state of a checkpoint to plain Python and tensor
  values (:func:`to_weights_only`) and back (:func:`from_weights_only`).
  :class:`~mmdet_libra_ext.engine.hooks.WeightsOnlyCheckpointHook` applies
  them when a run saves and loads checkpoints, so ``--resume`` and
  ``load_from`` work with ``weights_only=True``, and the checkpoints also
  load in plain torch/MMDetection without this package;
- names the unsafe globals of a checkpoint (:func:`unsafe_globals`) so a
  run refuses it with a clear message before training starts;
- checks that a checkpoint file is complete (:func:`check_checkpoint_file`)
  and writes files atomically (:func:`atomic_replace`,
  :func:`write_text_atomic`), so that a run killed while saving never leaves
  a truncated file where ``--resume`` looks.

``weights_only`` is never switched off.
"""

import glob
import os
import os.path as osp
import pickletools
import zipfile
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from mmdet_libra_ext.utils.compat import (
    HAS_SAFE_GLOBALS,
    HAS_UNSAFE_GLOBALS_SCAN,
    numpy_multiarray,
)

#: Marker key of a converted object.
TYPE_KEY = '__mmdet_libra_ext_type__'


def _numpy_safe_globals() -> List[Any]:
    multiarray = numpy_multiarray()
    globals_ = [
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
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
            'log_history': torch.from_numpy(np.array(obj._log_history)),
            'count_history': torch.from_numpy(np.array(obj._count_history)),
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
            buf = HistoryBuffer(max_length=obj['max_length'])
            buf._log_history = obj['log_history'].numpy()
            buf._count_history = obj['count_history'].numpy()
            return buf
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


def unsafe_globals(filename: str) -> List[str]:
    """Globals of a checkpoint file that ``weights_only`` loading refuses.

    Returns an empty list for a checkpoint that loads safely (or for a file
    that is not a zip-format torch checkpoint, which torch then reports
    itself).
    """
    if not HAS_UNSAFE_GLOBALS_SCAN:
        return _unsafe_globals_scanned(filename)
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except (RuntimeError, ValueError, OSError):
        return []
    allowed = {
        f'{g.__module__}.{g.__qualname__}'
        for g in torch.serialization.get_safe_globals()
        if not isinstance(g, tuple)
    }
    return [g for g in found if g not in allowed]


_STRING_OPS = {
    'SHORT_BINUNICODE',
    'BINUNICODE',
    'BINUNICODE8',
    'UNICODE',
    'SHORT_BINSTRING',
    'BINSTRING',
    'STRING',
}


def _py3_name(module: str, qualname: str) -> Tuple[str, str]:
    """The Python 3 name of a global that a protocol < 3 pickle names the
    Python 2 way (``__builtin__.getattr``), as ``pickle`` maps it when
    loading (``fix_imports``)."""
    try:
        import _compat_pickle as compat
    except ImportError:  # not in this Python: names stay as written
        return module, qualname
    name_mapping = getattr(compat, 'NAME_MAPPING', {})
    import_mapping = getattr(compat, 'IMPORT_MAPPING', {})
    if (module, qualname) in name_mapping:
        return name_mapping[(module, qualname)]
    return import_mapping.get(module, module), qualname


def pickle_globals(filename: str) -> List[str]:
    """Every global (``module.qualname``) the pickle of a zip-format torch
    checkpoint refers to, in order of first use, read from its opcodes
    without unpickling anything. ``[]`` for a file that is not one."""
    try:
        with zipfile.ZipFile(filename) as archive:
            pkl = [n for n in archive.namelist() if n.endswith('data.pkl')]
            if not pkl:
                return []
            data = archive.read(sorted(pkl, key=len)[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []
    found: List[str] = []
    protocol = 0
    memo: dict = {}
    pushed: List[Optional[str]] = []  # what the last opcodes pushed
    for op, arg, _ in pickletools.genops(data):
        name = op.name
        if name == 'PROTO':
            protocol = int(arg or 0)
        elif name == 'GLOBAL':
            module, qualname = str(arg).split(' ', 1)
            if protocol < 3:  # written with Python 2 names, read as py3's
                module, qualname = _py3_name(module, qualname)
            found.append(f'{module}.{qualname}')
            pushed.append(None)
        elif name == 'STACK_GLOBAL':
            if len(pushed) > 1:
                mod, qual = pushed[-2], pushed[-1]
                if isinstance(mod, str) and isinstance(qual, str):
                    found.append(f'{mod}.{qual}')
            pushed.append(None)
        elif name in _STRING_OPS:
            pushed.append(arg if isinstance(arg, str) else None)
        elif name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            memo[arg] = pushed[-1] if pushed else None
        elif name == 'MEMOIZE':
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ('GET', 'BINGET', 'LONG_BINGET'):
            pushed.append(memo.get(arg))
        else:
            pushed.append(None)
        del pushed[:-2]
    return list(dict.fromkeys(found))


def _unsafe_globals_scanned(filename: str) -> List[str]:
    """:func:`unsafe_globals` for torch < 2.5, which has no such scan:
    the checkpoint's globals that torch's ``weights_only`` loader does not
    allow. Where that torch does not expose its allow-list, nothing is
    reported here and torch names the global itself when loading."""
    from torch import _weights_only_unpickler

    allowed_fn = getattr(_weights_only_unpickler, '_get_allowed_globals', None)
    if allowed_fn is None:
        return []
    allowed = set(allowed_fn())
    return [g for g in pickle_globals(filename) if g not in allowed]


def check_weights_only_loadable(filename: str) -> None:
    """Raise a clear error if ``filename`` needs unsafe pickle globals."""
    bad = unsafe_globals(filename)
    if bad:
        raise RuntimeError(
            f'checkpoint {filename!r} cannot be loaded with '
            f'torch.load(weights_only=True): it needs the pickle globals '
            f'{bad}, and allow-listing them would let the file run code. '
            f'If you trust the file, convert it once with '
            f'`python tools/upgrade_checkpoint.py {filename} OUT.pth` and '
            f'load OUT.pth; checkpoints saved with '
            f'mmdet_libra_ext.WeightsOnlyCheckpointHook need no conversion.'
        )


def checkpoint_problem(filename: str) -> Optional[str]:
    """Why ``filename`` is not a complete checkpoint file, or ``None``.

    torch saves checkpoints as zip archives; a file cut short by a killed
    process loses its central directory (or a record's data), which this
    finds by reading the archive's index and every record's CRC. Files in
    torch's legacy (pre-1.6, non-zip) format are not checked.
    """
    if not osp.isfile(filename):
        return 'the file does not exist'
    with open(filename, 'rb') as f:
        magic = f.read(4)
    if magic[:1] == b'\x80':  # legacy pickle format
        return None
    if magic != b'PK\x03\x04':
        return 'it is not a torch checkpoint (no zip header)'
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f'it is truncated or corrupt ({e})'
    if bad is not None:
        return f'it is corrupt (record {bad!r} fails its CRC check)'
    return None


def newest_intact_checkpoint(
    directory: str, exclude: str = ''
) -> Optional[str]:
    """The most recently written complete ``*.pth`` file in ``directory``
    other than ``exclude``, or ``None``."""
    candidates = [
        f
        for f in glob.glob(osp.join(directory, '*.pth'))
        if not exclude or osp.abspath(f) != osp.abspath(exclude)
    ]
    for f in sorted(candidates, key=osp.getmtime, reverse=True):
        if checkpoint_problem(f) is None:
            return f
    return None


def check_checkpoint_file(filename: str) -> None:
    """Raise a clear error if ``filename`` is missing, truncated or corrupt,
    naming the newest intact checkpoint beside it."""
    problem = checkpoint_problem(filename)
    if problem is None:
        return
    directory = osp.dirname(osp.abspath(filename))
    previous = newest_intact_checkpoint(directory, exclude=filename)
    hint = (
        f'The newest intact checkpoint in {directory} is {previous!r}: '
        f'pass it with --resume {previous} (or load_from).'
        if previous
        else f'There is no intact checkpoint in {directory}.'
    )
    raise RuntimeError(
        f'cannot load checkpoint {filename!r}: {problem}. {hint}'
    )


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(tmp: str, filename: str) -> None:
    """Move the completely written file ``tmp`` to ``filename`` in one step:
    readers see the old file or the new one, never a part of it (also
    after a power cut: the data and the directory entry are synced)."""
    _fsync(tmp)
    os.replace(tmp, filename)
    _fsync(osp.dirname(osp.abspath(filename)))


def write_text_atomic(filename: str, text: str) -> None:
    """Write ``text`` to ``filename`` atomically."""
    tmp = f'{filename}.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    atomic_replace(tmp, filename)


register_safe_globals()
