"""Equality of two runs' checkpoints, for the resume tests."""

import os.path as osp

import torch


def assert_identical(a, b, where=''):
    """Bit-identical nested checkpoint states."""
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert sorted(a, key=str) == sorted(b, key=str), where
        for k in a:
            assert_identical(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f'{where}[{i}]')
    else:
        assert a == b, (where, a, b)


def assert_same_end(full, resumed, final):
    """The final checkpoints hold the same weights, optimizer, schedulers
    and ALWA state."""
    ca, cb = (
        torch.load(osp.join(w, final), weights_only=True)
        for w in (full, resumed)
    )
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'alwa'):
        assert_identical(ca[key], cb[key], key)
