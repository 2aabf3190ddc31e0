"""The unsafe pickle globals of a checkpoint, named before it is loaded, so
that a run refuses it with a clear message instead of torch's advice to
allow-list them."""

import pickletools
import zipfile
from typing import List, Optional, Tuple

import torch

from mmdet_libra_ext.utils.compat import (
    HAS_UNSAFE_GLOBALS_SCAN,
    weights_only_allowed_globals,
)


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
    allowed = weights_only_allowed_globals()
    if allowed is None:
        return []
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
            f'`python tools/model_converters/upgrade_checkpoint.py '
            f'{filename} OUT.pth` and '
            f'load OUT.pth; checkpoints saved with '
            f'mmdet_libra_ext.WeightsOnlyCheckpointHook need no conversion.'
        )
