"""Checkpoint integrity, safe loading, atomic files and argument checks."""

from .atomic_io import atomic_replace, write_text_atomic
from .checkpoint import (
    check_checkpoint_file,
    checkpoint_problem,
    newest_intact_checkpoint,
)
from .pickle_scan import check_weights_only_loadable, unsafe_globals
from .weights_only import from_weights_only, to_weights_only

__all__ = [
    'atomic_replace',
    'check_checkpoint_file',
    'check_weights_only_loadable',
    'checkpoint_problem',
    'from_weights_only',
    'newest_intact_checkpoint',
    'to_weights_only',
    'unsafe_globals',
    'write_text_atomic',
]
