"""Hooks: ALWA, the balance monitor, exact resume, atomic and weights-only
checkpoints."""

from .alwa_hook import ALWAHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .balance_monitor_hook import BalanceMonitorHook
from .resumable_randomness_hook import ResumableRandomnessHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'ALWAHook',
    'AtomicCheckpointHook',
    'BalanceMonitorHook',
    'ResumableRandomnessHook',
    'WeightsOnlyCheckpointHook',
]
