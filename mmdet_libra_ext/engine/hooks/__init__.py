"""Hooks: ALWA, the balance monitor, fitting the input scale and anchors to
the data, exact resume, atomic and weights-only checkpoints."""

from .adapt_to_data_hook import AdaptToDataHook
from .alwa_hook import ALWAHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .balance_monitor_hook import BalanceMonitorHook
from .resumable_randomness_hook import ResumableRandomnessHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = [
    'AdaptToDataHook',
    'ALWAHook',
    'AtomicCheckpointHook',
    'BalanceMonitorHook',
    'ResumableRandomnessHook',
    'WeightsOnlyCheckpointHook',
]
