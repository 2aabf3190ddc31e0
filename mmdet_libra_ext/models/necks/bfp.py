"""Balanced Feature Pyramid (Libra R-CNN, Pang et al., CVPR 2019)."""

from typing import List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmdet_libra_ext.registry import MODELS
from mmdet_libra_ext.utils.checks import check_one_of

from ..layers import SDPANonLocal2d, max_pool_to

REFINE_TYPES = (None, 'conv', 'non_local')


def _nearest_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """Nearest resize (MMDetection's convention: ``floor(dst * in / out)``)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='nearest')


@MODELS.register_module()
class BFP(BaseModule):
    """Balanced Feature Pyramid (https://arxiv.org/abs/1904.02701).

    Rescales every level to ``refine_level``'s size, averages them, refines
    the average and adds it back to every level as a residual. A drop-in
    for MMDetection's ``BFP``: same arguments, parameter names (its Libra
    checkpoints load), initialisation and outputs; faster
    (docs/components.md).

    Args:
        in_channels (int): Channels of every input level (> 0).
        num_levels (int): Number of input levels (>= 2).
        refine_level (int): The level integrated at. Defaults to 2.
        refine_type (str, optional): None, ``'conv'`` or ``'non_local'``.
        conv_cfg (dict, optional): Config of the refine convolutions.
        norm_cfg (dict, optional): Config of the refine normalisation.
        use_sdpa (bool or str): Fused attention for ``'non_local'``.
        init_cfg (dict or list[dict], optional): Initialisation config.
    """

    def __init__(
        self,
        in_channels: int,
        num_levels: int,
        refine_level: int = 2,
        refine_type: Optional[str] = None,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        use_sdpa: str = 'auto',
        # MMDetection's signature; the dict is never mutated.
        init_cfg: OptMultiConfig = dict(  # noqa: B006
            type='Xavier', layer='Conv2d', distribution='uniform'
        ),
    ) -> None:
        super().__init__(init_cfg)
        if (
            not isinstance(in_channels, int)
            or isinstance(in_channels, bool)
            or in_channels <= 0
        ):
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels!r}'
            )
        if not isinstance(num_levels, int) or num_levels < 2:
            raise ValueError(
                f'num_levels must be an int >= 2, got {num_levels!r}'
            )
        if (
            not isinstance(refine_level, int)
            or not 0 <= refine_level < num_levels
        ):
            raise ValueError(
                f'refine_level must be in [0, num_levels='
                f'{num_levels}), got {refine_level!r}'
            )
        check_one_of(refine_type, REFINE_TYPES, 'refine_type')
        self.in_channels = in_channels
        self.num_levels = num_levels
        self.refine_level = refine_level
        self.refine_type = refine_type
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        if refine_type == 'conv':
            self.refine = ConvModule(
                in_channels,
                in_channels,
                3,
                padding=1,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
            )
        elif refine_type == 'non_local':
            self.refine = SDPANonLocal2d(
                in_channels,
                reduction=1,
                use_scale=False,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                use_sdpa=use_sdpa,
            )

    def _check_inputs(self, inputs: Sequence[Tensor]) -> None:
        if len(inputs) != self.num_levels:
            raise ValueError(
                f'BFP expects {self.num_levels} levels, got {len(inputs)}'
            )
        n = inputs[0].size(0)
        for i, x in enumerate(inputs):
            if x.dim() != 4 or x.size(1) != self.in_channels or x.size(0) != n:
                raise ValueError(
                    f'BFP level {i}: expected shape (N={n}, C='
                    f'{self.in_channels}, H, W), got {tuple(x.shape)}'
                )

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
        """Balance the feature levels.

        Args:
            inputs (tuple[Tensor]): ``num_levels`` maps of shape
                ``(N, in_channels, H_l, W_l)``, finest first.

        Returns:
            tuple[Tensor]: The balanced levels, same shapes as the inputs.
        """
        self._check_inputs(inputs)
        gather_size = inputs[self.refine_level].shape[-2:]
        # Step 1: integrate, accumulating in place (additions keep nothing
        # for backward).
        bsf: Optional[Tensor] = None
        for i, x in enumerate(inputs):
            if i < self.refine_level:
                gathered = max_pool_to(x, gather_size)
            else:
                gathered = _nearest_to(x, gather_size)
            bsf = gathered.clone() if bsf is None else bsf.add_(gathered)
        assert bsf is not None  # num_levels >= 1
        bsf = bsf.div_(self.num_levels)
        # Step 2: refine.
        if self.refine_type is not None:
            bsf = self.refine(bsf)
        # Step 3: strengthen every level with a residual.
        outs: List[Tensor] = []
        for i, x in enumerate(inputs):
            if i < self.refine_level:
                residual = _nearest_to(bsf, x.shape[-2:])
            else:
                residual = max_pool_to(bsf, x.shape[-2:])
            outs.append(residual + x)
        return tuple(outs)
