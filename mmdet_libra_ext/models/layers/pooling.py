"""Adaptive max pooling that is fast where sizes divide and exports to ONNX
(exactly) where they do not: BFP's gather step and its mmdeploy rewriter."""

from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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


def max_pool_to(x: Tensor, size: Sequence[int]) -> Tensor:
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
