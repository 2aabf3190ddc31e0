"""The call-time contract of MMDetection's loss modules, with MMDetection's
own classes as the reference: whatever one of them raises for a call, ours
raises an error of the same type (our reduction error is both a ValueError
and an AssertionError), and what one of them returns, ours returns."""

import pytest
import torch
from mmdet.models.losses import BalancedL1Loss as MMDetBalancedL1
from mmdet.models.losses import FocalLoss as MMDetFocal

from mmdet_libra_ext.models.losses import BalancedL1Loss, FocalLoss

PAIRS = {
    'focal': (FocalLoss, MMDetFocal, 5),
    'balanced_l1': (BalancedL1Loss, MMDetBalancedL1, 4),
}


def _inputs(name, n):
    g = torch.Generator().manual_seed(n)
    _, _, c = PAIRS[name]
    pred = torch.randn(n, c, generator=g)
    if name == 'focal':
        return pred, torch.randint(0, c + 1, (n,), generator=g)
    return pred, torch.randn(n, c, generator=g)


def _outcome(loss, *args, **kwargs):
    try:
        return loss(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return e


CALLS = {
    'sum with avg_factor': dict(reduction_override='sum', avg_factor=2.0),
    'mean with avg_factor': dict(reduction_override='mean', avg_factor=2.0),
    'none': dict(reduction_override='none'),
    'bad reduction_override': dict(reduction_override='avg'),
    'misspelled keyword': dict(avg_facter=2.0),
}


@pytest.mark.parametrize('n', [0, 6], ids=['empty', 'six'])
@pytest.mark.parametrize('call', sorted(CALLS))
@pytest.mark.parametrize('name', sorted(PAIRS))
def test_ours_raises_and_returns_what_mmdetection_does(name, call, n):
    ours_cls, ref_cls, _ = PAIRS[name]
    pred, target = _inputs(name, n)
    ours = _outcome(ours_cls(), pred, target, **CALLS[call])
    ref = _outcome(ref_cls(), pred, target, **CALLS[call])
    if isinstance(ref, Exception):
        assert isinstance(ours, Exception), (ours, ref)
        assert isinstance(ours, type(ref)), (ours, ref)
    else:
        assert not isinstance(ours, Exception), ours
        if n == 0:
            # Empty, reduction 'none': MMDetection's Balanced L1 gives a
            # 0-d zero (its Focal an empty tensor), ours an empty tensor
            # for both; they sum alike.
            ours, ref = ours.sum(), ref.sum()
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_the_errors_name_what_was_wrong():
    from mmdet_libra_ext.models.losses.utils import ReductionError

    pred, target = _inputs('focal', 4)
    with pytest.raises(TypeError, match='avg_facter'):
        FocalLoss()(pred, target, avg_facter=2.0)
    with pytest.raises(ReductionError, match="reduction_override.*'avg'"):
        FocalLoss()(pred, target, reduction_override='avg')
    assert issubclass(ReductionError, ValueError)
    assert issubclass(ReductionError, AssertionError)
    with pytest.raises(ValueError, match='avg_factor can not be used'):
        BalancedL1Loss()(
            pred[:0], pred[:0], reduction_override='sum', avg_factor=1.0
        )
