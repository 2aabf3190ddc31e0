"""Balanced Feature Pyramid (Libra R-CNN, Pang et al., CVPR 2019)."""

from typing import Any, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, NonLocal2d
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor

from mmdet_libra_ext.registry import MODELS
from mmdet_libra_ext.utils.checks import check_one_of
from mmdet_libra_ext.utils.compat import SDPA_HAS_SCALE

REFINE_TYPES = (None, 'conv', 'non_local')


class SDPANonLocal2d(NonLocal2d):
    """Embedded-Gaussian non-local block computed by fused attention.

    The same module as mmcv's ``NonLocal2d(mode='embedded_gaussian')``: same
    parameters (``g``, ``theta``, ``phi``, ``conv_out``), same
    initialisation, same output, ``softmax(theta^T phi) g`` without the
    ``1/sqrt(d)`` scale. The attention runs through
    :func:`torch.nn.functional.scaled_dot_product_attention` with
    ``scale=1.0``, which never materialises the ``HW x HW`` affinity matrix
    on the backends that have a fused kernel (flash attention on CPU and
    CUDA, memory-efficient attention on CUDA).

    Args:
        use_sdpa (bool or str): ``True`` always uses the fused attention,
            ``False`` the explicit ``matmul``/``softmax`` of mmcv, and
            ``'auto'`` (default) the fused attention where it measured
            faster: on CUDA with 16-bit activations (fp16/bf16 inputs or
            autocast; 0.75-0.87x the time and half the memory on an H100),
            the explicit form for float32 (fused 1.3-2.0x slower on the
            H100, 4-9% slower on CPU).
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


def adaptive_windows(in_size: int, out_size: int) -> List[Tuple[int, int]]:
    """The ``[start, end)`` input window of every output cell of adaptive
    pooling: ``floor(i * in / out)`` to ``ceil((i + 1) * in / out)``."""
    return [
        (i * in_size // out_size, -(-(i + 1) * in_size // out_size))
        for i in range(out_size)
    ]


def static_adaptive_max_pool2d(x: Tensor, size: Sequence[int]) -> Tensor:
    """``adaptive_max_pool2d(x, size)`` from slices and ``amax`` over sizes
    known when the graph is built: exact for sizes that do not divide, and
    exportable to ONNX (``Slice``, ``ReduceMax``, ``Concat``) by both torch
    exporters. The 2-d window maximum is taken along the rows, then the
    columns (the windows are rectangles)."""
    in_h, in_w = (int(v) for v in x.shape[-2:])
    rows = [
        x[..., s:e, :].amax(dim=-2, keepdim=True)
        for s, e in adaptive_windows(in_h, int(size[0]))
    ]
    x = torch.cat(rows, dim=-2) if len(rows) > 1 else rows[0]
    cols = [
        x[..., s:e].amax(dim=-1, keepdim=True)
        for s, e in adaptive_windows(in_w, int(size[1]))
    ]
    return torch.cat(cols, dim=-1) if len(cols) > 1 else cols[0]


def _max_pool_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """``adaptive_max_pool2d(x, size)``; plain max-pool when sizes divide.

    Adaptive pooling of ``H`` onto ``h`` with ``H % h == 0`` uses the windows
    ``[i*k, (i+1)*k)`` with ``k = H // h``: exactly ``max_pool2d`` with
    kernel and stride ``k``, whose kernels are much faster. During ONNX
    export the sizes are taken as constants (static shapes), and sizes that
    do not divide go through :func:`static_adaptive_max_pool2d`, which both
    exporters translate (neither translates ``adaptive_max_pool2d`` there).
    """
    exporting = torch.onnx.is_in_onnx_export()
    x_size: Sequence[int]
    if exporting:
        x_size = [int(v) for v in x.shape[-2:]]
        size = [int(v) for v in size]
    else:
        x_size = x.shape[-2:]
    (in_h, in_w), (out_h, out_w) = x_size, size
    if in_h % out_h == 0 and in_w % out_w == 0:
        kernel = (in_h // out_h, in_w // out_w)
        if kernel == (1, 1):
            return x
        return F.max_pool2d(x, kernel_size=kernel, stride=kernel)
    if exporting:
        return static_adaptive_max_pool2d(x, size)
    return F.adaptive_max_pool2d(x, output_size=tuple(size))


def _nearest_to(x: Tensor, size: Sequence[int]) -> Tensor:
    """Nearest resize (MMDetection's convention: ``floor(dst * in / out)``)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode='nearest')


@MODELS.register_module()
class BFP(BaseModule):
    """Balanced Feature Pyramid (https://arxiv.org/abs/1904.02701).

    Rescales every level to the size of ``refine_level`` (max-pooling finer
    levels, nearest-upsampling coarser ones), averages them, refines the
    average (nothing, a 3x3 conv, or an embedded-Gaussian non-local block),
    then rescales it back to every level (nearest-upsampling for finer
    levels, adaptive max-pooling for coarser ones) and adds it to that
    level as a residual.

    A drop-in replacement of MMDetection's ``BFP``: same arguments, same
    parameter names (``refine.g/theta/phi/conv_out.conv.*``, so MMDetection's
    Libra checkpoints load without conversion), same initialisation and, for
    the same weights, the same outputs. Differences are in speed and memory:
    exact-multiple resizes use plain max-pooling instead of adaptive pooling,
    the integration accumulates in place, and on CUDA with fp16/bf16
    activations the non-local attention runs through fused
    scaled-dot-product attention.

    Args:
        in_channels (int): Channels of every input level (> 0).
        num_levels (int): Number of input levels (>= 2).
        refine_level (int): Index of the level whose size the features are
            integrated at, in ``[0, num_levels)``. Defaults to 2.
        refine_type (str, optional): ``None``, ``'conv'`` or
            ``'non_local'``. Defaults to None.
        conv_cfg (dict, optional): Config of the refine convolutions.
        norm_cfg (dict, optional): Config of the refine normalisation.
        use_sdpa (bool or str): Fused attention for ``'non_local'``:
            ``'auto'`` (default) where it measured faster (CUDA with 16-bit
            activations), see :class:`SDPANonLocal2d`.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to Xavier-uniform on every ``Conv2d`` (the non-local
            block then applies its own initialisation, as in MMDetection).
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
                gathered = _max_pool_to(x, gather_size)
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
                residual = _max_pool_to(bsf, x.shape[-2:])
            outs.append(residual + x)
        return tuple(outs)
