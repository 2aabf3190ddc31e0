from .alwa_hook import ALWAHook
from .weights_only_checkpoint_hook import WeightsOnlyCheckpointHook

__all__ = ['ALWAHook', 'WeightsOnlyCheckpointHook']
