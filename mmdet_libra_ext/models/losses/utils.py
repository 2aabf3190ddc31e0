"""Helpers shared by the fused losses of this package."""

import math
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from mmdet_libra_ext.utils.checks import check_one_of

REDUCTIONS = ('none', 'mean', 'sum')


class ReductionError(ValueError, AssertionError):
    """A reduction that is not none, mean or sum: a ValueError, and an
    AssertionError as MMDetection's losses raise (``assert
    reduction_override in ...``), so callers of either kind catch it."""


def check_reduction(reduction: Optional[str], name: str = 'reduction') -> None:
    """Raise a :class:`ReductionError` unless ``reduction`` is none, mean
    or sum."""
    try:
        check_one_of(reduction, REDUCTIONS, name)
    except ValueError as e:
        raise ReductionError(str(e)) from None


def check_avg_factor(reduction: str, avg_factor: Optional[float]) -> None:
    """Raise a ValueError where ``avg_factor`` is given with ``'sum'``, as
    MMDetection's ``weight_reduce_loss`` does (also for an empty input)."""
    if avg_factor is not None and reduction == 'sum':
        raise ValueError('avg_factor can not be used with reduction="sum"')


def float32_inputs(*tensors: Optional[Tensor]) -> Tuple[Optional[Tensor], ...]:
    """Upcast half/bfloat16 tensors to float32, keep float32/float64.

    The fused losses compute in at least float32: their logarithms and
    powers lose too much precision in 16-bit formats.
    """
    out = []
    for t in tensors:
        if (
            t is not None
            and t.is_floating_point()
            and t.dtype not in (torch.float32, torch.float64)
        ):
            t = t.float()
        out.append(t)
    return tuple(out)


def broadcast_weight(
    weight: Optional[Tensor],
    shape: torch.Size,
    loss_name: str,
    flat_per_element: bool = False,
) -> Optional[Tensor]:
    """Bring an elementwise weight to ``shape`` the way MMDetection does.

    Accepted: the full shape, anything broadcastable to it, or one weight per
    row (``(N,)`` for an ``(N, C)`` loss); with ``flat_per_element`` also one
    weight per element flattened (``(N * C,)``: MMDetection's focal losses
    take FSAF's per-anchor-per-class weight so).
    """
    if weight is None:
        return None
    if weight.shape == shape:
        return weight
    if weight.dim() == 1 and len(shape) == 2 and weight.numel() == shape[0]:
        return weight.view(-1, 1)
    if (
        flat_per_element
        and weight.dim() == 1
        and len(shape) >= 2
        and weight.numel() == shape.numel()
    ):
        return weight.view(shape)
    try:
        if torch.broadcast_shapes(weight.shape, shape) == shape:
            return weight
    except RuntimeError:
        pass
    raise ValueError(
        f'{loss_name}: weight of shape {tuple(weight.shape)} '
        f'does not fit the loss of shape {tuple(shape)}'
    )


def check_finite(**values: float) -> None:
    """Raise a ValueError naming the first argument that is not finite."""
    for name, value in values.items():
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            raise ValueError(f'{name} must be a finite number, got {value!r}')


def save_weighted(
    ctx: Any,
    loss: Tensor,
    grad: Tensor,
    weight: Optional[Tensor],
    weight_index: int,
) -> Tensor:
    """Fold an elementwise weight into a fused loss and its gradient and save
    what backward needs: the gradient only (plus the unweighted loss when
    the weight itself needs a gradient)."""
    unweighted = None
    if weight is not None:
        # broadcast_weight() made the product's shape that of the loss.
        if ctx.needs_input_grad[weight_index]:
            unweighted = loss.clone()
        loss.mul_(weight)
        grad.mul_(weight)
    ctx.save_for_backward(grad, unweighted)
    ctx.weight_shape = None if weight is None else weight.shape
    return loss


def weighted_backward(
    ctx: Any, grad_out: Tensor
) -> Tuple[Tensor, Optional[Tensor]]:
    """Gradients of the input and of the weight saved by
    :func:`save_weighted`."""
    grad, unweighted = ctx.saved_tensors
    grad_input = grad_out * grad
    grad_weight = None
    if unweighted is not None:
        grad_weight = (grad_out * unweighted).sum_to_size(ctx.weight_shape)
    return grad_input, grad_weight
