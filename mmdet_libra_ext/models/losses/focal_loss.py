"""Sigmoid focal loss (Lin et al., ICCV 2017) as one fused op."""

import math
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet_libra_ext.registry import MODELS

from .fused_loss import FusedLoss, fused_loss
from .utils import broadcast_weight, save_weighted, weighted_backward


def _negative_terms(
    logits: Tensor, alpha: float, gamma: float
) -> Tuple[Tensor, Tensor]:
    """Loss and gradient of every element taken as a negative (t = 0).

    ``loss = (1 - alpha) * p**gamma * softplus(x)`` and
    ``grad = (1 - alpha) * p**gamma * (gamma * (1 - p) * softplus(x) + p)``
    with ``p = sigmoid(x)``; ``softplus(x) = -log(1 - p)`` stays finite for
    large logits.
    """
    p = torch.sigmoid(logits)
    sp = F.softplus(logits)
    pg = p.pow(gamma).mul_(1 - alpha)
    loss = pg * sp
    # grad = pg * (gamma * (1 - p) * sp + p), built in place on sp.
    grad = sp.mul_(torch.rsub(p, 1.0)).mul_(gamma).add_(p).mul_(pg)
    return loss, grad


def _positive_terms(
    logits: Tensor, alpha: float, gamma: float
) -> Tuple[Tensor, Tensor]:
    """Loss and gradient of elements taken as positives (t = 1).

    ``loss = alpha * (1 - p)**gamma * softplus(-x)`` and
    ``grad = -alpha * (1 - p)**gamma * (gamma * p * softplus(-x) + 1 - p)``.
    """
    p = torch.sigmoid(logits)
    q = torch.sigmoid(-logits)  # 1 - p without cancellation
    sp = F.softplus(-logits)
    qg = q.pow(gamma).mul_(alpha)
    loss = qg * sp
    grad = -(sp * p * gamma + q) * qg
    return loss, grad


def _soft_terms(
    logits: Tensor, target: Tensor, alpha: float, gamma: float
) -> Tuple[Tensor, Tensor]:
    """Loss and gradient for dense (one-hot or soft) targets in [0, 1].

    MMDetection's form: ``w = (alpha*t + (1-alpha)*(1-t)) * pt**gamma`` with
    ``pt = (1-p)*t + p*(1-t)`` and ``loss = w * BCE(x, t)``.
    """
    p = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
    pt = (1 - p) * target + p * (1 - target)
    aw = alpha * target + (1 - alpha) * (1 - target)
    ptg = pt.pow(gamma)
    loss = aw * ptg * bce
    # d pt / dx = p (1 - p) (1 - 2t); d pt**gamma = gamma pt**(gamma-1) dpt.
    dpt = p * (1 - p) * (1 - 2 * target)
    if gamma == 0:
        dptg = torch.zeros_like(pt)
    else:
        tiny = torch.finfo(pt.dtype).tiny
        dptg = gamma * pt.clamp(min=tiny).pow(gamma - 1) * dpt
    grad = aw * (dptg * bce + ptg * (p - target))
    return loss, grad


def _class_positions(
    target: Tensor, num_classes: int
) -> Tuple[Tensor, Tensor]:
    """``(rows, classes)`` of the class-index targets in ``[0, C)``; any
    other index (``C``: MMDetection's background) has none."""
    rows = torch.nonzero(
        (target >= 0) & (target < num_classes), as_tuple=True
    )[0]
    return rows, target[rows].long()


class _SigmoidFocalFunction(torch.autograd.Function):
    """Fused sigmoid focal loss; keeps only the gradient for backward."""

    @staticmethod
    def forward(
        ctx: Any,
        logits: Tensor,
        target: Tensor,
        weight: Optional[Tensor],
        alpha: float,
        gamma: float,
    ) -> Tensor:
        if target.dtype in (
            torch.int64,
            torch.int32,
            torch.int16,
            torch.uint8,
            torch.int8,
        ):
            loss, grad = _negative_terms(logits, alpha, gamma)
            rows, cols = _class_positions(target, logits.size(1))
            pos_loss, pos_grad = _positive_terms(
                logits[rows, cols], alpha, gamma
            )
            loss.index_put_((rows, cols), pos_loss)
            grad.index_put_((rows, cols), pos_grad)
        else:
            loss, grad = _soft_terms(logits, target, alpha, gamma)
        return save_weighted(ctx, loss, grad, weight, weight_index=2)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> Tuple[Optional[Tensor], ...]:
        grad_logits: Optional[Tensor]
        grad_logits, grad_weight = weighted_backward(ctx, grad_out)
        if not ctx.needs_input_grad[0]:
            grad_logits = None
        return grad_logits, None, grad_weight, None, None


def _prob_terms(
    prob: Tensor, target: Tensor, alpha: float, gamma: float
) -> Tensor:
    """Focal loss of probabilities (``activated=True``) against dense
    targets, MMDetection's ``py_focal_loss_with_prob`` formula:
    ``(alpha*t + (1-alpha)*(1-t)) * pt**gamma * BCE(p, t)`` with
    ``pt = (1-p)*t + p*(1-t)`` (BCE's logarithms clamped at -100, as
    torch's). Autograd through torch's own ops: probabilities come from a
    head's own activation, whose graph is there anyway."""
    pt = (1 - prob) * target + prob * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(
        gamma
    )
    return (
        F.binary_cross_entropy(prob, target, reduction='none') * focal_weight
    )


def _dense_target(target: Tensor, pred: Tensor) -> Tensor:
    """Class indices ``(N,)`` as one-hot rows of ``pred``'s shape (an index
    outside ``[0, C)`` is background: an all-zero row)."""
    dense = torch.zeros_like(pred)
    dense[_class_positions(target, pred.size(1))] = 1
    return dense


def sigmoid_focal_loss(
    pred: Tensor,
    target: Tensor,
    weight: Optional[Tensor] = None,
    gamma: float = 2.0,
    alpha: float = 0.25,
    reduction: str = 'mean',
    avg_factor: Optional[float] = None,
    activated: bool = False,
) -> Tensor:
    """Fused sigmoid focal loss with MMDetection's weighting and reduction.

    The inputs MMDetection's ``FocalLoss`` takes: a target of ``pred``'s
    rank is dense (one-hot or soft, any integer or float dtype, any shape
    equal to ``pred``'s); a target of one dimension less holds class
    indices.

    Args:
        pred (Tensor): Logits (probabilities with ``activated=True``),
            ``(N, C)`` for index targets.
        target (Tensor): Either class indices of shape ``(N,)`` where
            ``C`` (or any value outside ``[0, C)``) means background, or
            dense one-hot / soft targets of ``pred``'s shape in ``[0, 1]``.
        weight (Tensor, optional): Anything MMDetection's focal loss takes:
            the loss's shape or broadcastable to it, one weight per row
            (``(N,)``), or one per element flattened (``(N * C,)``, FSAF's
            per-anchor-per-class weight).
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float): Weight of the positive class. Defaults to 0.25.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        avg_factor (float, optional): Divisor of the sum for ``'mean'``.
        activated (bool): ``pred`` holds probabilities, not logits
            (MMDetection's ``py_focal_loss_with_prob``). Defaults to False.

    Returns:
        Tensor: The loss, float32 for 16-bit inputs.
    """
    dense = target.dim() == pred.dim()
    if dense:
        if target.shape != pred.shape:
            raise ValueError(
                f'FocalLoss: dense target shape {tuple(target.shape)} differs '
                f'from pred shape {tuple(pred.shape)}'
            )
    else:
        if pred.dim() != 2:
            raise ValueError(
                f'FocalLoss: with class-index targets pred must be '
                f'(N, num_classes), got shape {tuple(pred.shape)}'
            )
        if target.shape != pred.shape[:1] or target.is_floating_point():
            raise ValueError(
                f'FocalLoss: an index target must be integer of shape '
                f'({pred.size(0)},), got {target.dtype} of shape '
                f'{tuple(target.shape)}'
            )

    def elementwise(pred: Tensor, weight: Optional[Tensor]) -> Tensor:
        t = target.to(pred.dtype) if dense else target
        if not activated:
            return _SigmoidFocalFunction.apply(
                pred, t, weight, float(alpha), float(gamma)
            )
        if not dense:
            t = _dense_target(t, pred)
        loss = _prob_terms(pred, t, float(alpha), float(gamma))
        return loss if weight is None else loss * weight

    weight = broadcast_weight(
        weight, pred.shape, 'FocalLoss', flat_per_element=True
    )
    return fused_loss(pred, weight, reduction, avg_factor, elementwise)


@MODELS.register_module()
class FocalLoss(FusedLoss):
    """Sigmoid focal loss (https://arxiv.org/abs/1708.02002).

    ``FL(p_t) = -alpha_t * (1 - p_t)**gamma * log(p_t)`` per class. A
    drop-in for MMDetection's ``FocalLoss(use_sigmoid=True)``: class-index
    targets (``num_classes`` is background) or dense one-hot/soft ones, the
    same values; one fused autograd operation (docs/components.md).

    Args:
        use_sigmoid (bool): Must be True. Defaults to True.
        gamma (float): Focusing parameter, >= 0. Defaults to 2.0.
        alpha (float): Positive-class weight in [0, 1]. Defaults to 0.25.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        activated (bool): The inputs are probabilities, not logits.
        nonfinite (str): On a NaN/Inf input: ``'raise'`` (default),
            ``'skip'`` the batch, or ``'propagate'`` as MMDetection.
    """

    loss_fn = staticmethod(sigmoid_focal_loss)

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = 'mean',
        loss_weight: float = 1.0,
        activated: bool = False,
        nonfinite: str = 'raise',
    ) -> None:
        super().__init__(reduction, loss_weight, nonfinite)
        if use_sigmoid is not True:
            raise ValueError(
                f'FocalLoss supports only use_sigmoid=True, got '
                f'use_sigmoid={use_sigmoid!r}'
            )
        if not isinstance(gamma, (int, float)) or not 0 <= gamma < math.inf:
            raise ValueError(
                f'gamma must be a finite number >= 0, got {gamma!r}'
            )
        if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise ValueError(f'alpha must be in [0, 1], got {alpha!r}')
        self.use_sigmoid = True
        self.activated = bool(activated)
        self.gamma = float(gamma)
        self.alpha = float(alpha)

    def loss_args(self) -> Dict[str, Any]:
        """Focal's settings."""
        return dict(
            gamma=self.gamma, alpha=self.alpha, activated=self.activated
        )

    def probe(self, pred: Tensor) -> Optional[Tensor]:
        """A saturated infinite logit can give a finite (zero) focal term,
        so the logits' sum is checked in the same host read."""
        return pred.detach().sum(dtype=torch.float32)
