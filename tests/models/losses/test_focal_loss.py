"""Sigmoid focal loss against the paper's formula (written out here),
MMDetection's FocalLoss (CPU path) and gradcheck."""

import itertools

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses import FocalLoss as MMDetFocalLoss

from mmdet_libra_ext.models.losses import FocalLoss, sigmoid_focal_loss


def paper_focal(logits, onehot, alpha=0.25, gamma=2.0):
    """FL = -alpha_t (1 - p_t)^gamma log(p_t), computed in float64."""
    x = logits.double()
    t = onehot.double()
    p = torch.sigmoid(x)
    p_t = torch.where(t > 0, p, 1 - p)
    alpha_t = torch.where(t > 0, alpha, 1 - alpha)
    log_pt = torch.where(t > 0, F.logsigmoid(x), F.logsigmoid(-x))
    return -alpha_t * (1 - p_t) ** gamma * log_pt


def _inputs(n=200, c=7, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=g, dtype=dtype) * 3
    labels = torch.randint(0, c + 1, (n,), generator=g)  # c = background
    return logits, labels


@pytest.mark.parametrize(
    'weight_kind,avg_factor,reduction',
    [
        c
        for c in itertools.product(
            [None, 'row', 'full'], [None, 11.0], ['none', 'mean', 'sum']
        )
        if not (c[1] is not None and c[2] == 'sum')
    ],
)
def test_equals_mmdet_with_index_targets(weight_kind, avg_factor, reduction):
    logits, labels = _inputs()
    weight = None
    if weight_kind == 'row':
        weight = torch.rand(logits.size(0))
    elif weight_kind == 'full':
        weight = torch.rand(logits.shape)
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    ours = FocalLoss(loss_weight=1.5, reduction=reduction)(
        x1, labels, weight, avg_factor=avg_factor
    )
    ref = MMDetFocalLoss(loss_weight=1.5, reduction=reduction)(
        x2, labels, weight, avg_factor=avg_factor
    )
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    gout = torch.rand_like(ours)
    (ours * gout).sum().backward()
    (ref * gout).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    'gamma,alpha', [(2.0, 0.25), (0.0, 0.5), (1.5, 0.75), (5.0, 0.25)]
)
def test_matches_the_paper(gamma, alpha):
    logits, labels = _inputs(dtype=torch.float64)
    onehot = F.one_hot(labels, 8)[:, :7]
    ours = sigmoid_focal_loss(
        logits, labels, gamma=gamma, alpha=alpha, reduction='none'
    )
    torch.testing.assert_close(ours, paper_focal(logits, onehot, alpha, gamma))


def test_dense_and_soft_targets_equal_mmdet():
    logits, labels = _inputs()
    onehot = F.one_hot(labels, 8)[:, :7].float()
    soft = torch.rand(logits.shape)
    for target in (onehot, soft):
        x1 = logits.clone().requires_grad_()
        x2 = logits.clone().requires_grad_()
        ours = FocalLoss()(x1, target)
        ref = MMDetFocalLoss()(x2, target)
        torch.testing.assert_close(ours, ref)
        ours.backward()
        ref.backward()
        torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-7)
    # Index and one-hot targets are the same loss.
    torch.testing.assert_close(
        FocalLoss()(logits, labels), FocalLoss()(logits, onehot)
    )


def test_large_logits_stay_finite():
    logits = torch.tensor(
        [[100.0, -100.0, 0.0], [-100.0, 100.0, 30.0]], requires_grad=True
    )
    labels = torch.tensor([1, 0])  # both hard: confident and wrong
    loss = FocalLoss(reduction='none')(logits, labels)
    assert torch.isfinite(loss).all()
    torch.testing.assert_close(
        loss.double(),
        paper_focal(logits.detach(), F.one_hot(labels, 3)),
        rtol=1e-5,
        atol=1e-6,
    )
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
    # Confident and right: zero loss and gradient, not NaN.
    x = torch.tensor([[100.0, -100.0]], requires_grad=True)
    ok = FocalLoss(reduction='sum')(x, torch.tensor([0]))
    ok.backward()
    assert ok.item() == 0 and torch.equal(x.grad, torch.zeros_like(x))


def test_gradcheck_index_and_soft_targets():
    logits, labels = _inputs(n=20, c=4, dtype=torch.float64)
    logits.requires_grad_()
    weight = torch.rand(20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w: sigmoid_focal_loss(x, labels, w, reduction='none'),
        (logits, weight),
    )
    soft = torch.rand(20, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: sigmoid_focal_loss(x, soft, gamma=2.0, reduction='sum'),
        (logits,),
    )
    assert torch.autograd.gradcheck(
        lambda x: sigmoid_focal_loss(x, labels, gamma=0.5, reduction='sum'),
        (logits,),
    )


def test_autocast_and_half_inputs():
    logits, labels = _inputs()
    ref = FocalLoss()(logits.bfloat16().float(), labels)
    x = logits.bfloat16().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = FocalLoss()(x, labels)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, ref)
    loss.backward()
    assert (
        x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad.float()).all()
    )


def test_keeps_a_single_tensor_for_backward():
    logits, labels = _inputs()
    logits.requires_grad_()
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(
        lambda t: saved.append(t) or t, lambda t: t
    ):
        sigmoid_focal_loss(logits, labels, reduction='none')
    assert len(saved) == 1 and saved[0].shape == logits.shape


def test_empty_input():
    x = torch.zeros(0, 5, requires_grad=True)
    loss = FocalLoss()(x, torch.zeros(0, dtype=torch.long), avg_factor=1.0)
    assert loss.item() == 0 and loss.requires_grad
    loss.backward()


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(gamma=-1), 'gamma'),
        (dict(alpha=1.5), 'alpha'),
        (dict(alpha=-0.1), 'alpha'),
        (dict(reduction='x'), 'reduction'),
        (dict(use_sigmoid=False), 'use_sigmoid'),
        (dict(loss_weight=float('inf')), 'loss_weight'),
    ],
)
def test_bad_arguments_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FocalLoss(**kwargs)


def test_bad_shapes_refused():
    with pytest.raises(ValueError, match='index target'):
        FocalLoss()(torch.zeros(4, 3), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match='dense target'):
        FocalLoss()(torch.zeros(4, 3), torch.zeros(4, 2))
    with pytest.raises(ValueError, match='pred must be'):
        FocalLoss()(torch.zeros(4, 3, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match='index target must be integer'):
        FocalLoss()(torch.zeros(4, 3), torch.zeros(4))


# MMDetection's input contract beyond the plain (N, C) / (N,) case: every
# head of its model zoo calls FocalLoss one of these ways.


def _mmdet_and_ours(**kwargs):
    return MMDetFocalLoss(**kwargs), FocalLoss(**kwargs)


@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_flattened_per_element_weight_equals_mmdet(reduction):
    """FSAF passes one weight per anchor and class, flattened: (N * C,)."""
    logits, labels = _inputs(n=40, c=4)
    weight = torch.rand(40 * 4, generator=torch.Generator().manual_seed(1))
    theirs, ours = _mmdet_and_ours(reduction=reduction)
    torch.testing.assert_close(
        ours(logits, labels, weight, avg_factor=None),
        theirs(logits, labels, weight),
    )


@pytest.mark.parametrize('dense', [False, True])
@pytest.mark.parametrize('weight_kind', [None, 'row', 'flat'])
def test_activated_probabilities_equal_mmdet(dense, weight_kind):
    """activated=True: the inputs are probabilities (TOOD's head applies
    its own sigmoid); values and gradients equal MMDetection's."""
    logits, labels = _inputs(n=30, c=5)
    prob = torch.sigmoid(logits)
    target = F.one_hot(labels, 6)[:, :5] if dense else labels
    weight = {
        None: None,
        'row': torch.rand(30),
        'flat': torch.rand(30 * 5),
    }[weight_kind]
    theirs, ours = _mmdet_and_ours(activated=True)
    x1 = prob.clone().requires_grad_()
    x2 = prob.clone().requires_grad_()
    ref = theirs(x1, target, weight, avg_factor=7.0)
    got = ours(x2, target, weight, avg_factor=7.0)
    torch.testing.assert_close(got, ref)
    ref.backward()
    got.backward()
    torch.testing.assert_close(x2.grad, x1.grad)


def test_activated_matches_the_paper():
    logits, labels = _inputs(n=50, c=3)
    onehot = F.one_hot(labels, 4)[:, :3]
    got = FocalLoss(activated=True, reduction='none')(
        torch.sigmoid(logits.double()), labels
    )
    torch.testing.assert_close(got, paper_focal(logits, onehot))


def test_integer_one_hot_target_is_dense_like_mmdet():
    """A target of pred's rank is one-hot/soft whatever its dtype
    (MMDetection's rule), and any rank works for dense targets."""
    logits, labels = _inputs(n=20, c=4)
    onehot = F.one_hot(labels, 5)[:, :4]
    theirs, ours = _mmdet_and_ours()
    torch.testing.assert_close(ours(logits, onehot), theirs(logits, onehot))
    x = logits.view(20, 2, 2)
    t = onehot.view(20, 2, 2).float()
    torch.testing.assert_close(ours(x, t), theirs(x, t))


# Property tests (hypothesis): index targets against the paper's formula
# and MMDetection's reduction rules over random shapes, class counts,
# dtypes, weights, avg_factor and reductions, including empty inputs.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from mmdet.models.losses.utils import weight_reduce_loss  # noqa: E402

# float64 to 1e-6 only: the reference's alpha_t comes from torch.where on
# Python floats, which makes it float32.
FOCAL_TOL = {torch.float64: 1e-6, torch.float32: 2e-5, torch.bfloat16: 2e-5}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    c=st.integers(1, 9),
    dtype=st.sampled_from(list(FOCAL_TOL)),
    seed=st.integers(0, 2**16),
    weight_kind=st.sampled_from([None, 'row']),
    reduction=st.sampled_from(['none', 'mean', 'sum']),
    avg=st.one_of(st.none(), st.floats(0.5, 500.0)),
    gamma=st.floats(0.0, 4.0),
    alpha=st.floats(0.0, 1.0),
)
def test_property_against_the_paper(
    n, c, dtype, seed, weight_kind, reduction, avg, gamma, alpha
):
    avg = None if reduction == 'sum' else avg
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(n, c, generator=g, dtype=torch.float64) * 4).to(
        dtype
    )
    labels = torch.randint(0, c + 1, (n,), generator=g)  # c: background
    weight = None
    if weight_kind == 'row':
        weight = torch.rand(n, generator=g, dtype=torch.float64).to(dtype)
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)(
        logits, labels, weight=weight, avg_factor=avg
    )
    if n == 0:
        assert (loss == 0).all()
        return
    onehot = F.one_hot(labels, c + 1)[:, :c]
    elem = paper_focal(logits.double(), onehot, alpha=alpha, gamma=gamma)
    w = None if weight is None else weight.double()[:, None].expand(n, c)
    expected = weight_reduce_loss(elem, w, reduction, avg)
    assert loss.shape == expected.shape
    assert torch.isfinite(loss).all()
    tol = FOCAL_TOL[dtype]
    torch.testing.assert_close(
        loss.double(), expected, rtol=tol, atol=tol * 10
    )


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_activated_half_precision_computes_in_float32(dtype):
    """16-bit probabilities (an fp16/bf16 head): the loss is computed in
    float32, equal to the float32 loss of the same (rounded) inputs. (A
    probability rounded to exactly 0 or 1 has a gradient beyond 16-bit
    range, as with MMDetection's: kept off here.)"""
    logits, labels = _inputs(n=30, c=5)
    prob = torch.sigmoid(logits).clamp(1e-3, 1 - 1e-3).to(dtype)
    x16 = prob.clone().requires_grad_()
    x32 = prob.float().requires_grad_()
    loss = FocalLoss(activated=True)
    got, ref = loss(x16, labels), loss(x32, labels)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, ref)
    got.backward()
    ref.backward()
    assert x16.grad.dtype == dtype
    torch.testing.assert_close(
        x16.grad.float(), x32.grad, rtol=1e-2, atol=1e-3
    )
