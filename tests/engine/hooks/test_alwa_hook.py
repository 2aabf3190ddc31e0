"""ALWA: the published rule re-stated independently here, the options, the
distributed reduction, checkpoint state, and configuration errors."""

import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmdet_libra_ext.engine.hooks import ALWAHook
from tests.engine.hooks.alwa_helpers import (  # noqa: E402
    FakeDetector,
    loss_sequence,
    reference_alwa,
    run_hook,
)


@pytest.mark.parametrize('statistic', ['std', 'mean+std'])
@pytest.mark.parametrize('levels', [1, 5])
def test_reproduces_the_reference_trajectory(statistic, levels):
    cls, reg = loss_sequence(1000)
    ours = run_hook(ALWAHook(statistic=statistic), cls, reg, levels)
    ref = reference_alwa(cls.tolist(), reg.tolist(), 100, statistic)
    np.testing.assert_allclose(ours, ref, rtol=1e-5)
    assert len(set(np.round(ref, 6))) > 3  # the weight really moved


def test_unweighted_statistics_compose():
    cls, reg = loss_sequence(600, seed=1)
    hook = ALWAHook(interval=100, weighted_stats=False)
    trace = run_hook(hook, cls, reg)
    for k in range(1, 6):
        c = cls[(k - 1) * 100 : k * 100]
        r = reg[(k - 1) * 100 : k * 100]
        s_c, s_r = np.std(c, ddof=1), np.std(r, ddof=1)
        expected = s_r / s_c if s_c > s_r else 1.0
        assert trace[k * 100] == pytest.approx(expected, rel=1e-5)


def test_bounds_warmup_and_ema():
    cls, reg = loss_sequence(500, seed=2)
    trace = run_hook(ALWAHook(interval=50, weight_bounds=(0.5, 0.9)), cls, reg)
    assert min(trace) >= 0.5 and max(trace[50:]) <= 0.9
    # Warm-up: nothing recorded in the first 30 iterations.
    trace = run_hook(ALWAHook(interval=50, warmup_iters=30), cls, reg)
    ref = reference_alwa(cls[30:].tolist(), reg[30:].tolist(), 50)
    np.testing.assert_allclose(trace[30:], ref, rtol=1e-5)
    assert trace[:30] == [1.0] * 30
    # EMA: mean/var folded over every value so far.
    a = 0.05
    hook = ALWAHook(interval=50, ema_momentum=a, weighted_stats=False)
    trace = run_hook(hook, cls, reg)

    def ema_std(x):
        m, v = x[0], 0.0
        for xi in x[1:]:
            d = xi - m
            m, v = m + a * d, (1 - a) * (v + a * d * d)
        return np.sqrt(v)

    s_c, s_r = (
        ema_std(cls[:100].astype(float)),
        ema_std(reg[:100].astype(float)),
    )
    assert trace[100] == pytest.approx(
        s_r / s_c if s_c > s_r else 1.0, rel=1e-4
    )


def test_state_dict_round_trip_mid_window(tmp_path):
    cls, reg = loss_sequence(400, seed=3)
    full = run_hook(ALWAHook(interval=100), cls, reg)
    first = ALWAHook(interval=100)
    run_hook(first, cls[:150], reg[:150])
    path = tmp_path / 'alwa.pth'
    torch.save({'alwa': first.state_dict()}, path)
    second = ALWAHook(interval=100)
    second.after_load_checkpoint(None, torch.load(path, weights_only=True))
    rest = run_hook(second, cls[150:], reg[150:])
    np.testing.assert_allclose(rest, full[150:], rtol=1e-6)


def test_two_stage_pairs_get_their_own_weights():
    hook = ALWAHook(interval=2)
    det = FakeDetector()
    hook.install(det)
    for i in range(4):
        det.parse_losses(
            {
                'loss_rpn_cls': [torch.tensor(1.0 + i), torch.tensor(0.5)],
                'loss_rpn_bbox': [
                    torch.tensor(0.1 + 0.02 * i),
                    torch.tensor(0.1),
                ],
                'loss_cls': torch.tensor(0.5 + 0.01 * i),
                'loss_bbox': torch.tensor(0.2 + 0.5 * i),
            }
        )
    assert set(hook.weights) == {'loss_rpn_cls', 'loss_cls'}
    assert hook.weights['loss_rpn_cls'] < 1.0  # varies much more than reg
    assert hook.weights['loss_cls'] == 1.0  # varies less: untouched


@pytest.mark.parametrize(
    'keys', [('loss_cls', 'loss_bbox'), ('loss_rpn_cls', 'loss_rpn_bbox')]
)
@pytest.mark.parametrize('weighted_stats', [True, False])
@pytest.mark.parametrize('statistic', ['std', 'mean+std', 'diff_std'])
def test_window_without_regression_signal_keeps_the_weight(
    statistic, weighted_stats, keys, monkeypatch
):
    """20 iterations with a regression loss of exactly 0 (no positive
    sample), then 380 ordinary ones: the published rule would set the
    weight to S_reg / S_cls = 0 at iteration 20 and, with weighted
    statistics, keep it there for good. The first window must leave the
    weight at 1 with a warning, and the rest must follow the rule as if
    the run had started at iteration 20."""
    from mmdet_libra_ext.models.losses import alwa_rule

    warnings = []
    monkeypatch.setattr(
        alwa_rule, 'print_log', lambda msg, *a, **k: warnings.append(msg)
    )
    cls, reg = loss_sequence(400, seed=4)
    reg = reg.copy()
    reg[:20] = 0.0
    options = dict(interval=20, statistic=statistic)
    options['weighted_stats'] = weighted_stats
    trace = run_hook(ALWAHook(**options), cls, reg, keys=keys)
    assert trace[:21] == [1.0] * 21
    assert len(warnings) == 1
    assert repr(keys[0]) in warnings[0] and 'min_weight' in warnings[0]
    assert all(0.01 < w <= 1 for w in trace)
    assert min(trace[21:]) < 1  # the rule moves the weight again later
    # From iteration 20 on, the run equals a fresh run of the rest.
    fresh = run_hook(ALWAHook(**options), cls[20:], reg[20:], keys=keys)
    np.testing.assert_allclose(trace[20:], fresh, rtol=1e-6)


def test_weight_never_set_at_or_below_min_weight(monkeypatch):
    """A window whose rule gives 0.2 is refused under min_weight=0.3 and
    applied under min_weight=0.1; min_weight=0 still refuses a weight of
    exactly 0."""
    from mmdet_libra_ext.models.losses import alwa_rule

    monkeypatch.setattr(alwa_rule, 'print_log', lambda *a, **k: None)
    cls = np.array([1.0, 2.0, 1.0, 2.0, 1.0], np.float32)  # std 0.5477
    reg = np.array([1.0, 1.2, 1.0, 1.2, 1.0], np.float32)  # std 0.1095
    trace = run_hook(ALWAHook(interval=5, min_weight=0.3), cls, reg)
    assert trace == [1.0] * 5
    hook = ALWAHook(interval=5, min_weight=0.1)
    run_hook(hook, cls, reg)
    assert hook.weights['loss_cls'] == pytest.approx(0.2, rel=1e-5)
    hook = ALWAHook(interval=5, min_weight=0.0)
    run_hook(hook, cls, np.ones(5, np.float32))
    assert hook.weights['loss_cls'] == 1.0


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(interval=1), 'interval'),
        (dict(statistic='var'), 'statistic'),
        (dict(weight_bounds=(0, 1)), 'weight_bounds'),
        (dict(weight_bounds=(0.5, 1.2)), 'weight_bounds'),
        (dict(weight_bounds=(0.9, 0.5)), 'weight_bounds'),
        (dict(warmup_iters=-1), 'warmup_iters'),
        (dict(ema_momentum=1.0), 'ema_momentum'),
        (dict(pairs=[]), 'pairs'),
        (dict(statistic='diff_std', interval=2), 'interval >= 3'),
        (dict(statistic='diff_std', ema_momentum=0.1), 'no ema_momentum'),
        (dict(pairs=[('loss_cls',)]), 'pairs'),
        (dict(min_weight=1.0), 'min_weight'),
        (dict(min_weight=-0.1), 'min_weight'),
    ],
)
def test_bad_configuration_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ALWAHook(**kwargs)


def test_unknown_loss_key_refused_at_first_iteration():
    hook = ALWAHook(pairs=[('loss_cls', 'loss_iou')])
    det = FakeDetector()
    hook.install(det)
    with pytest.raises(ValueError, match="'loss_iou'"):
        det.parse_losses(
            {'loss_cls': torch.tensor(1.0), 'loss_bbox': torch.tensor(1.0)}
        )
    hook = ALWAHook()
    hook.install(det)
    with pytest.raises(ValueError, match='default loss pairs'):
        det.parse_losses({'loss_heatmap': torch.tensor(1.0)})


def test_distributed_ranks_share_one_weight(tmp_path):
    script = osp.join(
        osp.dirname(osp.abspath(__file__)), 'alwa_dist_worker.py'
    )
    out = subprocess.run(
        [sys.executable, script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    t0 = np.load(tmp_path / 'trace0.npy')
    t1 = np.load(tmp_path / 'trace1.npy')
    np.testing.assert_array_equal(t0, t1)
    assert int(np.load(tmp_path / 'calls0.npy')) == 300 // 50
    # The weight is the rule applied to the rank-mean losses.
    c0, r0 = loss_sequence(300, seed=10)
    c1, r1 = loss_sequence(300, seed=11)
    ref = reference_alwa(
        ((c0 + c1) / 2).tolist(), ((r0 + r1) / 2).tolist(), 50
    )
    np.testing.assert_allclose(t0, ref, rtol=1e-5)


def test_non_finite_iterations_left_out_of_the_statistics(monkeypatch):
    from mmdet_libra_ext.models.losses import alwa_rule

    warnings = []
    monkeypatch.setattr(
        alwa_rule, 'print_log', lambda msg, *a, **k: warnings.append(msg)
    )
    cls, reg = loss_sequence(300, seed=4)
    cls[10] = np.nan
    reg[150] = np.inf
    hook = ALWAHook(interval=100)
    det = FakeDetector()
    hook.install(det)
    trace = []
    for c, r in zip(cls, reg):
        trace.append(hook.weights.get('loss_cls', 1.0))
        det.parse_losses(
            {'loss_cls': torch.tensor(c), 'loss_bbox': torch.tensor(r)}
        )
    # Independent restatement: the rule over each window's finite rows.
    w, expected = 1.0, []
    for k in range(3):
        expected.append(w)
        rows = [
            (c * w, r)
            for c, r in zip(
                cls[k * 100 : (k + 1) * 100], reg[k * 100 : (k + 1) * 100]
            )
            if np.isfinite(c) and np.isfinite(r)
        ]
        s_c = np.std([c for c, _ in rows], ddof=1)
        s_r = np.std([r for _, r in rows], ddof=1)
        if s_c > s_r:
            w = 1 - (s_c - s_r) / s_c
    assert all(np.isfinite(trace))
    assert hook.weights['loss_cls'] == pytest.approx(w, rel=1e-5)
    for k in range(3):
        assert trace[k * 100] == pytest.approx(expected[k], rel=1e-5)
    assert len(warnings) == 2 and '1 of 100 iterations' in warnings[0]


def _decay_with_noise(n, amp, tau, floor, noise, rng):
    t = np.arange(n)
    return (
        amp * np.exp(-t / tau) + floor + rng.uniform(-noise, noise, n)
    ).astype(np.float32)


def test_diff_std_measures_noise_not_trend():
    """The synthetic case of the published rule's failure: losses that
    decay exponentially (classification faster) plus uniform noise, 730
    iterations, C = 100. The window's standard deviation is dominated by
    the decay, so the published rule sets the weight far below the ratio of
    the noise levels; the successive-difference statistic recovers it."""
    rng = np.random.default_rng(0)
    for cls_decay, reg_decay, noise_ratio in (
        ((0.6, 60), (0.08, 300), 0.5),
        ((1.0, 100), (0.3, 300), 0.6),
    ):
        cls = _decay_with_noise(730, *cls_decay, 0.05, 0.05, rng)
        reg = _decay_with_noise(730, *reg_decay, 0.02, 0.05 * noise_ratio, rng)
        published = run_hook(ALWAHook(interval=100), cls, reg)
        ours = run_hook(ALWAHook(interval=100, statistic='diff_std'), cls, reg)
        assert max(published[100:]) < 0.4 * noise_ratio
        assert ours[100] == pytest.approx(noise_ratio, rel=0.25)
        # Over unweighted statistics every window's weight is the ratio of
        # that window's noise levels.
        ours = run_hook(
            ALWAHook(interval=100, statistic='diff_std', weighted_stats=False),
            cls,
            reg,
        )
        for w in ours[100::100]:
            assert w == pytest.approx(noise_ratio, rel=0.3)
        # The definition: std of successive differences over sqrt(2).
        w = cls[:100].astype(float)
        r = reg[:100].astype(float)
        expected = np.std(np.diff(r), ddof=1) / np.std(np.diff(w), ddof=1)
        assert ours[100] == pytest.approx(expected, rel=1e-4)
