"""Test-time augmentation: views merged by weighted boxes fusion."""

from .wbf_tta_model import WBFTTAModel, weighted_boxes_fusion

__all__ = ['WBFTTAModel', 'weighted_boxes_fusion']
