"""Samplers: IoU-balanced negatives, instance-balanced positives."""

from .instance_balanced_pos_sampler import InstanceBalancedPosSampler
from .iou_balanced_neg_sampler import IoUBalancedNegSampler
from .random_mixin import TorchRandomSampler

__all__ = [
    'IoUBalancedNegSampler',
    'InstanceBalancedPosSampler',
    'TorchRandomSampler',
]
