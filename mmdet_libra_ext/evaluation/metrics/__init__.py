"""Metrics: proposal recall that runs with numpy >= 1.24, Pascal VOC mAP
with per-class AP among the returned metrics, and COCO-style mAP with the
ground truth of the samples' gt_instances."""

from .classwise_voc_metric import ClasswiseVOCMetric
from .coco_proposal_metric import CocoProposalMetric, proposal_recalls
from .gt_instances_coco_metric import GTInstancesCocoMetric, instances_of

__all__ = [
    'ClasswiseVOCMetric',
    'CocoProposalMetric',
    'GTInstancesCocoMetric',
    'instances_of',
    'proposal_recalls',
]
