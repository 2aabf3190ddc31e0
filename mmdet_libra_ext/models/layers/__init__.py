"""Layers: BFP's fused non-local block and its export-safe pooling."""

from .pooling import adaptive_windows, max_pool_to, static_adaptive_max_pool2d
from .sdpa_non_local import SDPANonLocal2d

__all__ = [
    'SDPANonLocal2d',
    'adaptive_windows',
    'max_pool_to',
    'static_adaptive_max_pool2d',
]
