"""Losses: Balanced L1 and Focal."""

from .balanced_l1_loss import BalancedL1Loss, balanced_l1_loss
from .focal_loss import FocalLoss, sigmoid_focal_loss

__all__ = [
    'BalancedL1Loss',
    'balanced_l1_loss',
    'FocalLoss',
    'sigmoid_focal_loss',
]
