from .alwa_hook import ALWAHook
from .resumable_randomness_hook import ResumableRandomnessHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['ALWAHook', 'ResumableRandomnessHook', 'WeightsOnlyCheckpointHook']
