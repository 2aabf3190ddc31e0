"""ALWA over random loss sequences (hypothesis): the weight stays in
(min_weight, 1], inside ``weight_bounds`` when set, and a checkpoint round
trip at any iteration continues the same trajectory.

The examples are derandomized by default (``tests/conftest.py``); run
``HYPOTHESIS_PROFILE=random pytest tests/engine/hooks/test_alwa_properties.py``
to search afresh, and keep what it finds as an ``@example``."""

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mmdet_libra_ext.engine.hooks import ALWAHook
from tests.engine.hooks.alwa_helpers import run_hook  # noqa: E402

positive = st.floats(1e-4, 50.0, allow_nan=False, allow_infinity=False)


@st.composite
def sequences(draw, max_len=120):
    n = draw(st.integers(2, max_len))
    cls = draw(st.lists(positive, min_size=n, max_size=n))
    reg = draw(st.lists(positive, min_size=n, max_size=n))
    return np.array(cls, np.float32), np.array(reg, np.float32)


hook_options = st.fixed_dictionaries(
    {
        'interval': st.integers(3, 30),
        'statistic': st.sampled_from(['std', 'mean+std', 'diff_std']),
        'weighted_stats': st.booleans(),
        'warmup_iters': st.integers(0, 20),
    }
)


# Found by the random search: a regression loss constant over a window
# (S_reg = 0) made the published rule set the weight to 0.
CONSTANT_REG = (
    np.array([1.0, 2.0, 4.0, 1.0], np.float32),
    np.array([1.0, 1.0, 1.0, 1.0], np.float32),
)


@settings(max_examples=40, deadline=None)
@given(seq=sequences(), options=hook_options)
@example(
    seq=CONSTANT_REG,
    options=dict(
        interval=3, statistic='std', weighted_stats=True, warmup_iters=0
    ),
)
def test_weight_stays_in_unit_interval(seq, options):
    hook = ALWAHook(**options)
    trace = run_hook(hook, *seq)
    assert all(hook.rule.min_weight < w <= 1 for w in trace)


@settings(max_examples=30, deadline=None)
@given(
    seq=sequences(),
    options=hook_options,
    bounds=st.tuples(st.floats(0.05, 0.9), st.floats(0.0, 1.0)),
)
def test_weight_inside_bounds(seq, options, bounds):
    low = bounds[0]
    high = low + (1 - low) * bounds[1]
    if high <= low:
        high = 1.0
    trace = run_hook(ALWAHook(weight_bounds=(low, high), **options), *seq)
    # The weight starts at 1 and, once moved, stays within the bounds.
    assert all(w == 1.0 or low - 1e-6 <= w <= high + 1e-6 for w in trace)


@settings(max_examples=25, deadline=None)
@given(seq=sequences(max_len=90), options=hook_options, data=st.data())
def test_checkpoint_round_trip_at_any_iteration(seq, options, data):
    cls, reg = seq
    cut = data.draw(st.integers(1, len(cls) - 1))
    full = run_hook(ALWAHook(**options), cls, reg)
    first = ALWAHook(**options)
    run_hook(first, cls[:cut], reg[:cut])
    second = ALWAHook(**options)
    # Through the same plain values a checkpoint file holds.
    state = {'alwa': first.state_dict()}
    state = torch.utils._pytree.tree_map(
        lambda v: v.clone() if torch.is_tensor(v) else v, state
    )
    second.after_load_checkpoint(None, state)
    rest = run_hook(second, cls[cut:], reg[cut:])
    np.testing.assert_allclose(rest, full[cut:], rtol=1e-6)


def test_strategies_cover_the_update():
    """The sequences above do move the weight (the properties are not
    vacuous): a noisier classification loss lowers it."""
    rng = np.random.default_rng(0)
    cls = (1 + rng.normal(0, 0.5, 60)).clip(0.01).astype(np.float32)
    reg = (1 + rng.normal(0, 0.05, 60)).astype(np.float32)
    trace = run_hook(ALWAHook(interval=10), cls, reg)
    assert min(trace) < 0.5
    assert pytest.approx(1.0) == trace[0]
