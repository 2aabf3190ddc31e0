"""Hooks: ALWA, exact resume, atomic and weights-only checkpoints."""

from .alwa_hook import ALWAHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .resumable_randomness_hook import ResumableRandomnessHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ALWAHook',
    'AtomicCheckpointHook',
    'ResumableRandomnessHook',
    'WeightsOnlyCheckpointHook',
]
