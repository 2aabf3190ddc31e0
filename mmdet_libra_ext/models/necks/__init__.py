"""Necks: the Balanced Feature Pyramid."""

from .bfp import BFP

__all__ = ['BFP']
