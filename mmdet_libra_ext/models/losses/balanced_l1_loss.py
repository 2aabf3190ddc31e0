"""Balanced L1 loss (Libra R-CNN, Pang et al., CVPR 2019) as one fused op."""

import math
from typing import Any, Dict, Optional, Tuple

import torch
from torch import Tensor

from mmdet_libra_ext.registry import MODELS
from mmdet_libra_ext.utils.checks import check_positive

from .fused_loss import FusedLoss, fused_loss
from .utils import broadcast_weight, save_weighted, weighted_backward


def _balanced_l1_forward(
    diff: Tensor, alpha: float, gamma: float, beta: float, mmdet_compat: bool
) -> Tuple[Tensor, Tensor]:
    """Elementwise loss and d(loss)/d(diff) of the Balanced L1 loss.

    With ``b = exp(gamma / alpha) - 1`` and ``u = |diff| / beta`` the scaled
    form (default) is ``beta * L_b(u)``:

    - ``u < 1``: loss ``alpha * beta * ((u + 1/b) * ln(b*u + 1) - u)``,
      gradient ``alpha * ln(b*u + 1)``;
    - ``u >= 1``: loss ``beta * (gamma*u + gamma/b - alpha)``, gradient
      ``gamma``.

    Clamping ``u`` at 1 gives both branches without a select: at ``u = 1``
    the logarithm is ``gamma / alpha``, so the gradient is exactly ``gamma``,
    and the outlier part is the linear term ``beta * gamma * (u - 1)``.
    """
    b = math.exp(gamma / alpha) - 1
    absdiff = diff.abs()
    if mmdet_compat and beta != 1.0:
        # MMDetection's formula: value continuous, gradient not (see class
        # docstring). Kept only for exact reproduction of its numbers.
        inlier = absdiff < beta
        log_term = torch.log1p(absdiff * (b / beta))
        loss = torch.where(
            inlier,
            alpha / b * (b * absdiff + 1) * log_term - alpha * absdiff,
            gamma * absdiff + (gamma / b - alpha * beta),
        )
        grad = torch.where(
            inlier,
            alpha * log_term
            + alpha * (b * absdiff + 1) / (b * absdiff + beta)
            - alpha,
            torch.full_like(absdiff, gamma),
        )
        # The magnitude can be negative here (beta > 1, small |x|): use the
        # sign, not copysign.
        return loss, grad.mul_(torch.sign(diff))
    u = absdiff.mul_(1.0 / beta)
    uc = u.clamp(max=1.0)
    log_term = torch.log1p(uc * b)
    # loss = alpha*beta*((uc + 1/b) * log_term - uc) + beta*gamma*(u - uc)
    loss = (uc + 1.0 / b).mul_(log_term).sub_(uc).mul_(alpha * beta)
    loss.add_(u.sub_(uc), alpha=beta * gamma)
    grad = log_term.mul_(alpha).copysign_(diff)
    return loss, grad


class _BalancedL1Function(torch.autograd.Function):
    """Fused elementwise Balanced L1: keeps only the gradient for backward."""

    @staticmethod
    def forward(
        ctx: Any,
        pred: Tensor,
        target: Tensor,
        weight: Optional[Tensor],
        alpha: float,
        gamma: float,
        beta: float,
        mmdet_compat: bool,
    ) -> Tensor:
        diff = pred - target
        loss, grad = _balanced_l1_forward(
            diff, alpha, gamma, beta, mmdet_compat
        )
        return save_weighted(ctx, loss, grad, weight, weight_index=2)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[Optional[Tensor], ...]:
        grad_pred: Optional[Tensor]
        grad_pred, grad_weight = weighted_backward(ctx, grad_out)
        grad_target = -grad_pred if ctx.needs_input_grad[1] else None
        if not ctx.needs_input_grad[0]:
            grad_pred = None
        return grad_pred, grad_target, grad_weight, None, None, None, None


def balanced_l1_loss(
    pred: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    alpha: float = 0.5,
    gamma: float = 1.5,
    beta: float = 1.0,
    reduction: str = 'mean',
    avg_factor: Optional[float] = None,
    mmdet_compat: bool = False,
) -> Tensor:
    """Balanced L1 loss, fused, with MMDetection's weighting and reduction.

    Args:
        pred (Tensor): Predictions, any shape (usually ``(N, 4)``).
        target (Tensor): Regression targets, same shape as ``pred``.
        weight (Tensor, optional): Elementwise weight, broadcastable to
            ``pred`` (or one weight per row).
        alpha (float): Inlier gradient factor. Defaults to 0.5.
        gamma (float): Gradient bound for outliers. Defaults to 1.5.
        beta (float): Inflection point ``|x| = beta``. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Divisor of the sum for ``'mean'``.
        mmdet_compat (bool): Use MMDetection's formula for ``beta != 1``.

    Returns:
        Tensor: The loss, float32 for 16-bit inputs.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f'BalancedL1Loss: pred shape {tuple(pred.shape)} '
            f'differs from target shape {tuple(target.shape)}'
        )

    def elementwise(pred: Tensor, weight: Optional[Tensor]) -> Tensor:
        return _BalancedL1Function.apply(
            pred,
            target.to(pred.dtype),
            weight,
            float(alpha),
            float(gamma),
            float(beta),
            bool(mmdet_compat),
        )

    weight = broadcast_weight(weight, pred.shape, 'BalancedL1Loss')
    return fused_loss(pred, weight, reduction, avg_factor, elementwise)


@MODELS.register_module()
class BalancedL1Loss(FusedLoss):
    """Balanced L1 loss of Libra R-CNN (https://arxiv.org/abs/1904.02701).

    ``beta * L_b(|x| / beta)`` with the paper's ``L_b``: value and gradient
    continuous at ``|x| = beta``, the gradient bounded by ``gamma``; equal
    to MMDetection's ``BalancedL1Loss`` for ``beta = 1`` (its formula for
    other ``beta``: ``mmdet_compat=True``; docs/components.md). One fused
    autograd operation, float32 for 16-bit inputs.

    Args:
        alpha (float): Inlier gradient factor, > 0. Defaults to 0.5.
        gamma (float): Outlier gradient bound, > 0. Defaults to 1.5.
        beta (float): Inflection point, > 0. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        mmdet_compat (bool): MMDetection's formula for ``beta != 1``.
        nonfinite (str): On a NaN/Inf input: ``'raise'`` (default),
            ``'skip'`` the batch, or ``'propagate'`` as MMDetection.
    """

    loss_fn = staticmethod(balanced_l1_loss)

    def __init__(
        self,
        alpha: float = 0.5,
        gamma: float = 1.5,
        beta: float = 1.0,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        mmdet_compat: bool = False,
        nonfinite: str = 'raise',
    ) -> None:
        super().__init__(reduction, loss_weight, nonfinite)
        check_positive(alpha=alpha, gamma=gamma, beta=beta)
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.beta = float(beta)
        self.mmdet_compat = bool(mmdet_compat)

    def loss_args(self) -> Dict[str, Any]:
        """Balanced L1's settings. (A non-finite pred or target makes the
        loss non-finite, also where its weight is 0: inf * 0 is NaN, so the
        loss alone is checked.)"""
        return dict(
            alpha=self.alpha,
            gamma=self.gamma,
            beta=self.beta,
            mmdet_compat=self.mmdet_compat,
        )
