"""Necks: the Balanced Feature Pyramid."""

from .bfp import BFP, SDPANonLocal2d

__all__ = ['BFP', 'SDPANonLocal2d']
