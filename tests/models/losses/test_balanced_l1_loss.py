"""Balanced L1 loss against the paper's formula (written out here),
MMDetection's BalancedL1Loss, and gradcheck."""

import itertools
import math

import pytest
import torch
from mmdet.models.losses import BalancedL1Loss as MMDetBalancedL1Loss

from mmdet_libra_ext.models.losses import BalancedL1Loss, balanced_l1_loss


def paper_loss(x, alpha=0.5, gamma=1.5, beta=1.0):
    """beta * L_b(|x| / beta), L_b from Libra R-CNN eq. (8)-(9)."""
    b = math.exp(gamma / alpha) - 1
    u = x.abs() / beta
    inlier = alpha / b * (b * u + 1) * torch.log(b * u + 1) - alpha * u
    outlier = gamma * u + gamma / b - alpha
    return beta * torch.where(u < 1, inlier, outlier)


def paper_grad(x, alpha=0.5, gamma=1.5, beta=1.0):
    """dL/dx = alpha ln(b|x|/beta + 1) sign(x) inside, gamma sign(x) beyond."""
    b = math.exp(gamma / alpha) - 1
    u = x.abs() / beta
    mag = torch.where(
        u < 1, alpha * torch.log(b * u + 1), torch.full_like(u, gamma)
    )
    return mag * torch.sign(x)


def _inputs(n=300, dtype=torch.float64, scale=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(n, 4, generator=g, dtype=dtype) * scale
    target = torch.randn(n, 4, generator=g, dtype=dtype) * 0.1
    return pred, target


@pytest.mark.parametrize(
    'alpha,gamma,beta',
    [(0.5, 1.5, 1.0), (0.3, 1.0, 1.0), (0.5, 1.5, 0.11), (0.8, 2.0, 2.0)],
)
def test_value_and_gradient_match_the_paper(alpha, gamma, beta):
    pred, target = _inputs()
    pred.requires_grad_()
    loss = balanced_l1_loss(
        pred, target, alpha=alpha, gamma=gamma, beta=beta, reduction='none'
    )
    expected = paper_loss(pred.detach() - target, alpha, gamma, beta)
    torch.testing.assert_close(loss, expected, rtol=1e-10, atol=1e-12)
    loss.sum().backward()
    torch.testing.assert_close(
        pred.grad,
        paper_grad(pred.detach() - target, alpha, gamma, beta),
        rtol=1e-10,
        atol=1e-12,
    )
    assert pred.grad.abs().max() <= gamma + 1e-12


@pytest.mark.parametrize(
    'use_weight,avg_factor,reduction',
    [
        c
        for c in itertools.product(
            [False, True], [None, 7.0], ['none', 'mean', 'sum']
        )
        if not (c[1] is not None and c[2] == 'sum')
    ],
)
def test_equals_mmdet_for_beta_1(use_weight, avg_factor, reduction):
    pred, target = _inputs(dtype=torch.float32)
    weight = (
        torch.rand(pred.shape, generator=torch.Generator().manual_seed(1))
        if use_weight
        else None
    )
    ours_pred = pred.clone().requires_grad_()
    ref_pred = pred.clone().requires_grad_()
    ours = BalancedL1Loss(loss_weight=2.0, reduction=reduction)(
        ours_pred, target, weight, avg_factor=avg_factor
    )
    ref = MMDetBalancedL1Loss(loss_weight=2.0, reduction=reduction)(
        ref_pred, target, weight, avg_factor=avg_factor
    )
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    gout = torch.rand_like(ours)
    (ours * gout).sum().backward()
    (ref * gout).sum().backward()
    torch.testing.assert_close(
        ours_pred.grad, ref_pred.grad, rtol=1e-5, atol=1e-6
    )


def test_avg_factor_with_sum_refused_like_mmdet():
    pred, target = _inputs(dtype=torch.float32)
    for loss in (
        BalancedL1Loss(reduction='sum'),
        MMDetBalancedL1Loss(reduction='sum'),
    ):
        with pytest.raises(ValueError, match='avg_factor'):
            loss(pred, target, avg_factor=2.0)


def test_reduction_override_matches_mmdet():
    pred, target = _inputs(dtype=torch.float32)
    for red in ('none', 'mean', 'sum'):
        torch.testing.assert_close(
            BalancedL1Loss()(pred, target, reduction_override=red),
            MMDetBalancedL1Loss()(pred, target, reduction_override=red),
        )


def test_gradient_continuous_at_beta_unlike_mmdet():
    beta = 0.11
    x = torch.tensor(
        [beta * (1 - 1e-7), beta * (1 + 1e-7)],
        dtype=torch.float64,
        requires_grad=True,
    )
    balanced_l1_loss(
        x, torch.zeros_like(x), beta=beta, reduction='sum'
    ).backward()
    assert abs(x.grad[0] - x.grad[1]) < 1e-5
    assert x.grad.max() <= 1.5 + 1e-12
    # MMDetection's formula jumps (about 1.70 below beta, 1.50 above).
    x2 = x.detach().clone().requires_grad_()
    MMDetBalancedL1Loss(beta=beta, reduction='sum')(
        x2, torch.zeros_like(x2)
    ).backward()
    assert x2.grad[0] > 1.65 and abs(x2.grad[1] - 1.5) < 1e-6


@pytest.mark.parametrize('beta', [0.11, 2.0])
def test_mmdet_compat_switch_reproduces_mmdet(beta):
    pred, target = _inputs(dtype=torch.float64, scale=beta * 2)
    p1 = pred.clone().requires_grad_()
    p2 = pred.clone().requires_grad_()
    ours = BalancedL1Loss(beta=beta, mmdet_compat=True, reduction='none')(
        p1, target
    )
    ref = MMDetBalancedL1Loss(beta=beta, reduction='none')(p2, target)
    torch.testing.assert_close(ours, ref)
    ours.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(p1.grad, p2.grad)


@pytest.mark.parametrize('beta', [1.0, 0.11, 2.0])
def test_gradcheck_including_kinks(beta):
    pred = (
        torch.cat(
            [
                torch.randn(40, dtype=torch.float64) * 2 * beta,
                torch.tensor(
                    [
                        0.0,
                        1e-9,
                        -1e-9,
                        beta,
                        -beta,
                        beta * (1 + 1e-6),
                        beta * (1 - 1e-6),
                    ],
                    dtype=torch.float64,
                ),
            ]
        )
        .view(-1, 1)
        .requires_grad_()
    )
    target = torch.zeros_like(pred)
    weight = torch.rand_like(pred).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda p, w: balanced_l1_loss(
            p, target, w, beta=beta, reduction='sum'
        ),
        (pred, weight),
        eps=1e-7,
        atol=1e-5,
    )
    assert torch.autograd.gradcheck(
        lambda p, t: balanced_l1_loss(p, t, beta=beta, reduction='none'),
        (pred, torch.randn_like(pred).requires_grad_()),
    )


def test_empty_input_gives_zero_loss_with_graph():
    pred = torch.zeros(0, 4, requires_grad=True)
    for red in ('mean', 'sum'):
        loss = BalancedL1Loss(reduction=red)(
            pred, torch.zeros(0, 4), avg_factor=None
        )
        assert loss.item() == 0 and loss.requires_grad
        loss.backward()
    assert pred.grad.shape == (0, 4)
    none = BalancedL1Loss(reduction='none')(pred, torch.zeros(0, 4))
    assert none.shape == (0, 4)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_half_inputs_and_autocast(dtype):
    pred, target = _inputs(dtype=torch.float32)
    ref = BalancedL1Loss()(pred.to(dtype).float(), target.to(dtype).float())
    p = pred.to(dtype).requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = BalancedL1Loss()(p, target.to(dtype))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    torch.testing.assert_close(loss, ref)
    loss.backward()
    assert p.grad.dtype == dtype and torch.isfinite(p.grad.float()).all()


def test_keeps_a_single_tensor_for_backward():
    pred, target = _inputs(dtype=torch.float32)
    pred.requires_grad_()
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        balanced_l1_loss(pred, target, reduction='none')
    assert len(saved) == 1 and saved[0].shape == pred.shape


def test_float64_and_broadcast_weight():
    pred, target = _inputs()
    w = torch.rand(pred.size(0), dtype=torch.float64)
    ours = BalancedL1Loss(reduction='sum')(pred, target, w)
    ref = (paper_loss(pred - target) * w[:, None]).sum()
    torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(alpha=0), 'alpha'),
        (dict(alpha=-1), 'alpha'),
        (dict(gamma=0), 'gamma'),
        (dict(beta=0), 'beta'),
        (dict(beta=-0.5), 'beta'),
        (dict(reduction='avg'), 'reduction'),
        (dict(loss_weight=float('nan')), 'loss_weight'),
        (dict(alpha=float('nan')), 'alpha'),
    ],
)
def test_bad_arguments_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        BalancedL1Loss(**kwargs)


def test_bad_shapes_refused():
    with pytest.raises(ValueError, match=r'pred shape \(3, 4\)'):
        BalancedL1Loss()(torch.zeros(3, 4), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='weight of shape'):
        BalancedL1Loss()(torch.zeros(3, 4), torch.zeros(3, 4), torch.ones(5))
    with pytest.raises(ValueError, match='reduction_override'):
        BalancedL1Loss()(
            torch.zeros(3, 4), torch.zeros(3, 4), reduction_override='avg'
        )


def test_built_from_mmdet_registry_by_scope():
    from mmdet.registry import MODELS

    loss = MODELS.build(
        dict(type='mmdet_libra_ext.BalancedL1Loss', beta=0.11, loss_weight=2.0)
    )
    assert isinstance(loss, BalancedL1Loss) and loss.beta == 0.11


# Property tests (hypothesis): the loss against the paper's formula and
# MMDetection's reduction rules over random shapes, dtypes, weights,
# avg_factor, reductions and betas, including empty inputs.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from mmdet.models.losses.utils import weight_reduce_loss  # noqa: E402

TOL = {torch.float64: 1e-9, torch.float32: 2e-5, torch.bfloat16: 2e-5}


@st.composite
def loss_case(draw):
    n = draw(st.integers(0, 40))
    dtype = draw(st.sampled_from(list(TOL)))
    seed = draw(st.integers(0, 2**16))
    scale = draw(st.sampled_from([0.01, 0.3, 3.0]))
    g = torch.Generator().manual_seed(seed)
    pred = (torch.randn(n, 4, generator=g, dtype=torch.float64) * scale).to(
        dtype
    )
    target = (torch.randn(n, 4, generator=g, dtype=torch.float64) * 0.1).to(
        dtype
    )
    weight = draw(st.sampled_from([None, 'full']))
    if weight == 'full':
        weight = torch.rand(n, 4, generator=g, dtype=torch.float64).to(dtype)
    reduction = draw(st.sampled_from(['none', 'mean', 'sum']))
    avg_factor = (
        None
        if reduction == 'sum'
        else draw(st.one_of(st.none(), st.floats(0.5, 500.0)))
    )
    beta = draw(st.sampled_from([1.0, 0.11, draw(st.floats(0.01, 3.0))]))
    return pred, target, weight, reduction, avg_factor, beta


@settings(max_examples=60, deadline=None)
@given(case=loss_case(), loss_weight=st.floats(0.1, 4.0))
def test_property_against_the_paper(case, loss_weight):
    pred, target, weight, reduction, avg_factor, beta = case
    loss = BalancedL1Loss(
        beta=beta, reduction=reduction, loss_weight=loss_weight
    )(pred, target, weight=weight, avg_factor=avg_factor)
    if pred.numel() == 0:
        assert (loss == 0).all()
        return
    # Reference in float64 on the same (rounded) inputs.
    elem = paper_loss(pred.double() - target.double(), beta=beta)
    w = None if weight is None else weight.double()
    expected = loss_weight * weight_reduce_loss(elem, w, reduction, avg_factor)
    assert loss.shape == expected.shape
    assert torch.isfinite(loss).all()
    tol = TOL[pred.dtype]
    torch.testing.assert_close(
        loss.double(), expected, rtol=tol, atol=tol * 10
    )
