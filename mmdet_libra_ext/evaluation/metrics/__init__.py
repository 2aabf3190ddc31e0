"""Metrics: proposal recall that runs with numpy >= 1.24."""

from .coco_proposal_metric import CocoProposalMetric, proposal_recalls

__all__ = ['CocoProposalMetric', 'proposal_recalls']
