"""The shell the fused losses share: computation in float32 with autocast
off, empty inputs, MMDetection's reduction, ``loss_weight`` and the
non-finite policy."""

import logging
from typing import Any, Callable, Dict, Optional, Tuple, cast

import torch
from mmdet.models.losses.utils import weight_reduce_loss
from mmengine.logging import print_log
from torch import Tensor

from mmdet_libra_ext.utils.checks import check_one_of

from .utils import (
    check_avg_factor,
    check_finite,
    check_reduction,
    float32_inputs,
)

#: What a loss does when its value is not finite (see :func:`guard_finite`).
NONFINITE_MODES = ('raise', 'skip', 'propagate')


def check_nonfinite_mode(mode: str) -> None:
    """Raise a ValueError unless ``mode`` is one of :data:`NONFINITE_MODES`."""
    check_one_of(mode, NONFINITE_MODES, 'nonfinite')


def guard_finite(
    loss: Tensor,
    mode: str,
    loss_name: str,
    pred: Tensor,
    probe: Optional[Tensor] = None,
    **inputs: Optional[Tensor],
) -> Tensor:
    """Apply a loss's policy for NaN/Inf.

    The check costs one reduction of the loss (free for ``'mean'``/``'sum'``)
    and one host read; ``probe`` adds a tensor whose finiteness is checked in
    the same read (e.g. the sum of logits whose infinities a saturating loss
    would hide). Only when it fails are the inputs inspected, to say which
    of them holds the bad values.

    Args:
        loss (Tensor): The computed (reduced or elementwise) loss.
        mode (str): ``'raise'``: raise a FloatingPointError naming the loss
            and the bad inputs; ``'skip'``: log a warning and return a zero
            loss that keeps the graph (zero gradients), so one bad batch does
            not poison the weights, the optimizer state or ALWA's
            statistics; ``'propagate'``: no check (MMDetection's behaviour,
            no host read).
        loss_name (str): Name used in the message.
        pred (Tensor): The prediction, to build the zero loss from.
        probe (Tensor, optional): Extra scalar checked with the loss.
        **inputs: The loss's inputs by name, inspected on failure.

    Returns:
        Tensor: ``loss``, or a zero loss of its shape when skipped.
    """
    if mode == 'propagate':
        return loss
    total = loss.sum() if loss.dim() else loss
    if probe is not None:
        total = total + probe
    if bool(torch.isfinite(total)):  # the one host read
        return loss
    bad = []
    for name, t in dict(pred=pred, **inputs).items():
        if t is not None and t.is_floating_point():
            n = int((~torch.isfinite(t)).sum())
            if n:
                bad.append(f'{name} has {n} non-finite of {t.numel()} values')
    where = (
        '; '.join(bad)
        if bad
        else ('the inputs are finite: the loss overflowed')
    )
    msg = f'{loss_name}: the loss is not finite ({where})'
    if mode == 'raise':
        raise FloatingPointError(
            msg + ". Set nonfinite='skip' in the loss config to skip such "
            'batches with a warning instead.'
        )
    print_log(
        msg + '; skipped: this loss is 0 for this batch',
        'current',
        logging.WARNING,
    )
    zero = torch.nan_to_num(pred, 0.0, 0.0, 0.0) * 0
    return zero.sum() if loss.dim() == 0 else zero.expand_as(loss)


def fused_loss(
    pred: Tensor,
    weight: Optional[Tensor],
    reduction: str,
    avg_factor: Optional[float],
    elementwise: Callable[[Tensor, Optional[Tensor]], Tensor],
) -> Tensor:
    """The shell of a fused loss: ``elementwise(pred, weight)`` computed in
    at least float32 with autocast off, an empty input giving a zero loss
    that keeps the graph, then MMDetection's reduction.

    Args:
        pred (Tensor): The prediction (16-bit is upcast to float32).
        weight (Tensor, optional): The elementwise weight, already brought
            to ``pred``'s shape (:func:`broadcast_weight`); cast to the
            compute dtype.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Divisor of the sum for ``'mean'``.
        elementwise: The loss itself, from the float32 ``pred`` and
            ``weight`` (a target is cast by the caller's closure).

    Returns:
        Tensor: The reduced loss.
    """
    check_avg_factor(reduction, avg_factor)
    pred, weight = cast(
        Tuple[Tensor, Optional[Tensor]], float32_inputs(pred, weight)
    )
    if pred.numel() == 0:
        # Zero loss that keeps the graph (a batch without positive boxes).
        return pred * 0 if reduction == 'none' else pred.sum() * 0
    with torch.autocast(device_type=pred.device.type, enabled=False):
        if weight is not None:
            weight = weight.to(pred.dtype)
        loss = elementwise(pred, weight)
        return weight_reduce_loss(loss, None, reduction, avg_factor)


class FusedLoss(torch.nn.Module):
    """What MMDetection's loss modules share, for the fused losses:
    ``reduction`` (and ``reduction_override``), ``loss_weight`` and the
    non-finite policy (:func:`guard_finite`). A subclass names its
    functional form ``loss_fn`` (called with ``pred, target, weight,
    reduction=, avg_factor=`` and its :meth:`loss_args`) and may add a
    :meth:`probe`.

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier of the loss.
        nonfinite (str): ``'raise'``, ``'skip'`` or ``'propagate'``.
    """

    loss_fn: Callable[..., Tensor]

    def __init__(
        self, reduction: str, loss_weight: float, nonfinite: str
    ) -> None:
        super().__init__()
        check_nonfinite_mode(nonfinite)
        check_reduction(reduction)
        check_finite(loss_weight=loss_weight)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)
        self.nonfinite = nonfinite

    def loss_args(self) -> Dict[str, Any]:
        """The loss's own settings, passed to ``loss_fn``."""
        return {}

    def probe(self, pred: Tensor) -> Optional[Tensor]:
        """A scalar checked for finiteness with the loss (None: the loss
        alone shows every non-finite input)."""
        return None

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        **kwargs: Any,
    ) -> Tensor:
        """Forward function.

        Args:
            pred (Tensor): The prediction.
            target (Tensor): The learning target.
            weight (Tensor, optional): Elementwise weight of the loss.
            avg_factor (float, optional): Average factor of the loss.
            reduction_override (str, optional): Replaces ``self.reduction``.

        Returns:
            Tensor: The weighted loss.

        Raises:
            TypeError: An unknown keyword, named (MMDetection's losses
                refuse them too).
        """
        if kwargs:
            raise TypeError(
                f'{type(self).__name__}.forward() got unexpected keyword '
                f'argument(s) {sorted(kwargs)}'
            )
        if reduction_override is not None:
            check_reduction(reduction_override, 'reduction_override')
        loss = type(self).loss_fn(
            pred,
            target,
            weight,
            reduction=reduction_override or self.reduction,
            avg_factor=avg_factor,
            **self.loss_args(),
        )
        if self.nonfinite != 'propagate':
            loss = guard_finite(
                loss,
                self.nonfinite,
                type(self).__name__,
                pred,
                probe=self.probe(pred),
                target=target,
                weight=weight,
            )
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        """The loss's settings, shown in the module's repr."""
        settings = dict(
            self.loss_args(),
            reduction=self.reduction,
            loss_weight=self.loss_weight,
            nonfinite=self.nonfinite,
        )
        return ', '.join(f'{k}={v!r}' for k, v in settings.items())
