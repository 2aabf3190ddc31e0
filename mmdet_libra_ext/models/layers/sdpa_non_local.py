"""mmcv's embedded-Gaussian ``NonLocal2d`` computed by fused attention (the
refine block of BFP)."""

from typing import Any

import torch
import torch.nn.functional as F
from mmcv.cnn import NonLocal2d
from torch import Tensor

from mmdet_libra_ext.utils.compat import SDPA_HAS_SCALE


class SDPANonLocal2d(NonLocal2d):
    """Embedded-Gaussian non-local block computed by fused attention.

    The same module as mmcv's ``NonLocal2d(mode='embedded_gaussian')``
    (parameters, initialisation, output), with the attention through
    :func:`torch.nn.functional.scaled_dot_product_attention` (``scale=1``),
    which need not build the ``HW x HW`` affinity matrix.

    Args:
        use_sdpa (bool or str): ``True`` always fused, ``False`` mmcv's
            explicit form, ``'auto'`` (default) fused where it measured
            faster: CUDA with 16-bit activations (docs/components.md).
        **kwargs: Arguments of mmcv's ``NonLocal2d``.
    """

    def __init__(
        self, *args: Any, use_sdpa: str = 'auto', **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.mode != 'embedded_gaussian':
            raise ValueError(
                f'SDPANonLocal2d supports mode='
                f'"embedded_gaussian" only, got {self.mode!r}'
            )
        if self.sub_sample:
            raise ValueError('SDPANonLocal2d does not support sub_sample=True')
        if use_sdpa not in (True, False, 'auto'):
            raise ValueError(
                f"use_sdpa must be True, False or 'auto', got {use_sdpa!r}"
            )
        self.use_sdpa = use_sdpa

    def _fused(self, x: Tensor) -> bool:
        if self.use_sdpa != 'auto':
            return bool(self.use_sdpa)
        if x.device.type != 'cuda':
            return False
        half = (torch.float16, torch.bfloat16)
        try:
            autocast = (
                torch.is_autocast_enabled('cuda')
                and torch.get_autocast_dtype('cuda') in half
            )
        except TypeError:  # torch < 2.4
            autocast = torch.is_autocast_enabled()
        return x.dtype in half or autocast

    def forward(self, x: Tensor) -> Tensor:
        """Add the attention-refined features to ``x``."""
        if not self._fused(x):
            return super().forward(x)
        n, _, h, w = x.shape
        c = self.inter_channels
        # (N, 1, HW, C): one explicit head, the layout the fused kernels
        # take (a 3-d input falls back to slower paths).
        query = self.theta(x).view(n, 1, c, h * w).transpose(2, 3)
        key = self.phi(x).view(n, 1, c, h * w).transpose(2, 3)
        value = self.g(x).view(n, 1, c, h * w).transpose(2, 3)
        scale = (1.0 / c**0.5) if self.use_scale else 1.0
        if SDPA_HAS_SCALE:
            y = F.scaled_dot_product_attention(query, key, value, scale=scale)
        else:  # torch < 2.1: the default scale is 1 / sqrt(c)
            query = query * (scale * c**0.5)
            y = F.scaled_dot_product_attention(query, key, value)
        y = y.transpose(2, 3).reshape(n, c, h, w)
        return x + self.conv_out(y)
