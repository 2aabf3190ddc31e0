"""Checkpoint integrity, safe loading and argument checks."""

from .checkpoint import (
    atomic_replace,
    check_checkpoint_file,
    check_weights_only_loadable,
    checkpoint_problem,
    from_weights_only,
    newest_intact_checkpoint,
    to_weights_only,
    unsafe_globals,
    write_text_atomic,
)

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
