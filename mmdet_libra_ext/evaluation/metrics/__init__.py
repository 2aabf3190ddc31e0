"""Metrics: proposal recall that runs with numpy >= 1.24, and Pascal VOC mAP
with per-class AP among the returned metrics."""

from .classwise_voc_metric import ClasswiseVOCMetric
from .coco_proposal_metric import CocoProposalMetric, proposal_recalls

__all__ = ['ClasswiseVOCMetric', 'CocoProposalMetric', 'proposal_recalls']
