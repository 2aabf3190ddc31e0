"""NaN/Inf policy of the fused losses (``nonfinite='raise'|'skip'|
'propagate'``)."""

import math

import pytest
import torch

from mmdet_libra_ext.models.losses import BalancedL1Loss, FocalLoss
from mmdet_libra_ext.models.losses import fused_loss as loss_shell
from mmdet_libra_ext.registry import MODELS

NAN, INF = float('nan'), float('inf')


def bl1_inputs():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(16, 4, generator=g)
    target = torch.randn(16, 4, generator=g)
    return pred, target


def focal_inputs():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(32, 5, generator=g)
    target = torch.randint(0, 6, (32,), generator=g)  # 5 = background
    return pred, target


CASES = {
    'bl1-nan-pred': (BalancedL1Loss, bl1_inputs, 'pred', (3, 1), NAN),
    'bl1-inf-target': (BalancedL1Loss, bl1_inputs, 'target', (0, 2), INF),
    'focal-nan-logit': (FocalLoss, focal_inputs, 'pred', (4, 0), NAN),
    'focal-neg-inf-logit': (FocalLoss, focal_inputs, 'pred', (7, 3), -INF),
}


def corrupt(case):
    cls, make, which, index, value = CASES[case]
    pred, target = make()
    (pred if which == 'pred' else target)[index] = value
    return cls, pred, target, which


@pytest.mark.parametrize('case', sorted(CASES))
def test_raise_names_the_loss_and_the_input(case):
    cls, pred, target, which = corrupt(case)
    with pytest.raises(FloatingPointError) as err:
        cls()(pred, target)
    msg = str(err.value)
    assert msg.startswith(cls.__name__)
    assert f'{which} has 1 non-finite of {pred.numel()} values' in msg


@pytest.mark.parametrize('case', sorted(CASES))
@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_skip_gives_zero_loss_zero_grad_and_a_warning(
    case, reduction, monkeypatch
):
    logged = []
    monkeypatch.setattr(
        loss_shell, 'print_log', lambda msg, *a, **k: logged.append(msg)
    )
    cls, pred, target, _ = corrupt(case)
    pred.requires_grad_(True)
    loss = cls(nonfinite='skip', loss_weight=2.0)(
        pred, target, reduction_override=reduction
    )
    assert loss.shape == (() if reduction != 'none' else pred.shape)
    assert torch.all(loss == 0)
    loss.sum().backward()
    assert torch.all(pred.grad == 0)
    assert len(logged) == 1 and cls.__name__ in logged[0]
    assert 'skipped' in logged[0]


@pytest.mark.parametrize('case', sorted(CASES))
def test_propagate_is_unchecked(case):
    # MMDetection's behaviour: no check, whatever the arithmetic gives.
    cls, pred, target, _ = corrupt(case)
    loss = cls(nonfinite='propagate')(pred, target)
    if 'nan' in case:
        assert math.isnan(loss.item())


def test_saturated_infinite_logit_is_caught_although_its_term_is_zero():
    # An infinite logit of the target class gives focal term 0: the loss
    # alone would look finite, the logits' probe catches it.
    pred, target = focal_inputs()
    row = int((target < 5).nonzero()[0])
    pred[row, target[row]] = INF
    unchecked = FocalLoss(nonfinite='propagate')(pred, target)
    assert math.isfinite(unchecked.item())
    with pytest.raises(FloatingPointError, match='pred has 1 non-finite'):
        FocalLoss()(pred, target)


def test_nan_where_the_weight_is_zero_is_still_caught():
    pred, target = bl1_inputs()
    weight = torch.ones_like(pred)
    pred[5] = NAN
    weight[5] = 0
    with pytest.raises(FloatingPointError, match='BalancedL1Loss'):
        BalancedL1Loss()(pred, target, weight)


@pytest.mark.parametrize(
    'cls, make', [(BalancedL1Loss, bl1_inputs), (FocalLoss, focal_inputs)]
)
def test_finite_inputs_are_untouched(cls, make):
    pred, target = make()
    for reduction in ('mean', 'none'):
        checked = cls(reduction=reduction)(pred, target)
        unchecked = cls(reduction=reduction, nonfinite='propagate')(
            pred, target
        )
        assert torch.equal(checked, unchecked)


@pytest.mark.parametrize('cls', [BalancedL1Loss, FocalLoss])
def test_bad_mode_refused_at_construction(cls):
    with pytest.raises(ValueError, match="nonfinite must be one of .*'warn'"):
        cls(nonfinite='warn')


def test_mode_set_by_config():
    loss = MODELS.build(
        dict(type='mmdet_libra_ext.BalancedL1Loss', nonfinite='skip')
    )
    assert loss.nonfinite == 'skip'
