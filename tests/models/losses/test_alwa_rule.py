"""The ALWA rule alone, without a runner: hand-built windows against the
paper's update ``w = 1 - (S_cls - S_reg) / S_cls`` (sample standard
deviation, ddof = 1)."""

import math
import statistics

import pytest

from mmdet_libra_ext.models.losses.alwa_rule import ALWARule

PAIR = [('loss_cls', 'loss_bbox')]


def window(cls, reg):
    return [[[c, r]] for c, r in zip(cls, reg)]


def ones(n):
    return [[1.0] for _ in range(n)]


def test_published_update_from_a_hand_built_window():
    cls, reg = [1.0, 2.0, 3.0, 6.0], [1.0, 1.5, 2.0, 1.0]
    rule = ALWARule(interval=4)
    rule.update(PAIR, window(cls, reg), ones(4), step=4)
    s_cls, s_reg = statistics.stdev(cls), statistics.stdev(reg)
    assert rule.weights['loss_cls'] == pytest.approx(
        1 - (s_cls - s_reg) / s_cls
    )


def test_weighted_statistics_use_the_weight_each_iteration_trained_with():
    cls, reg = [1.0, 3.0, 2.0], [0.1, 0.2, 0.4]
    row_weights = [[0.5], [0.5], [0.8]]
    rule = ALWARule(interval=3)
    rule.weights['loss_cls'] = 0.8
    rule.update(PAIR, window(cls, reg), row_weights, step=3)
    weighted = [c * w[0] for c, w in zip(cls, row_weights)]
    s_cls, s_reg = statistics.stdev(weighted), statistics.stdev(reg)
    assert rule.weights['loss_cls'] == pytest.approx(s_reg / s_cls)


def test_smaller_classification_spread_keeps_or_resets_the_weight():
    cls, reg = [1.0, 1.1, 1.2], [1.0, 2.0, 3.0]
    weighted = ALWARule(interval=3)
    weighted.weights['loss_cls'] = 0.7
    weighted.update(PAIR, window(cls, reg), ones(3), step=3)
    assert weighted.weights['loss_cls'] == 0.7
    raw = ALWARule(interval=3, weighted_stats=False)
    raw.weights['loss_cls'] = 0.7
    raw.update(PAIR, window(cls, reg), ones(3), step=3)
    assert raw.weights['loss_cls'] == 1.0


@pytest.mark.parametrize(
    'statistic,expected',
    [
        ('mean+std', lambda v: statistics.mean(v) + statistics.stdev(v)),
        (
            'diff_std',
            lambda v: (
                statistics.stdev([b - a for a, b in zip(v, v[1:])])
                / math.sqrt(2)
            ),
        ),
    ],
)
def test_other_statistics(statistic, expected):
    cls, reg = [1.0, 4.0, 2.0, 7.0], [1.0, 1.2, 0.9, 1.4]
    rule = ALWARule(interval=4, statistic=statistic)
    rule.update(PAIR, window(cls, reg), ones(4), step=4)
    s_cls, s_reg = expected(cls), expected(reg)
    assert s_cls > s_reg
    assert rule.weights['loss_cls'] == pytest.approx(s_reg / s_cls)


def test_min_weight_refuses_and_bounds_clamp():
    cls, reg = [1.0, 5.0, 9.0], [1.0, 1.0, 1.0]  # S_reg = 0: weight 0
    rule = ALWARule(interval=3)
    rule.update(PAIR, window(cls, reg), ones(3), step=3)
    assert rule.weights.get('loss_cls', 1.0) == 1.0
    bounded = ALWARule(interval=3, weight_bounds=(0.6, 1.0))
    bounded.update(PAIR, window([1.0, 3.0, 5.0], [1, 1.5, 2]), ones(3), 3)
    assert bounded.weights['loss_cls'] == 0.6  # 0.25, clamped


def test_non_finite_iterations_are_left_out():
    cls, reg = [1.0, float('nan'), 3.0, 6.0], [1.0, 1.0, 2.0, 1.0]
    rule = ALWARule(interval=4)
    rule.update(PAIR, window(cls, reg), ones(4), step=4)
    s_cls = statistics.stdev([1.0, 3.0, 6.0])
    s_reg = statistics.stdev([1.0, 2.0, 1.0])
    assert rule.weights['loss_cls'] == pytest.approx(s_reg / s_cls)


def test_ema_statistics_carry_over_windows():
    a = 0.5
    rule = ALWARule(interval=2, ema_momentum=a)
    rule.update(PAIR, window([1.0, 3.0], [1.0, 1.5]), ones(2), step=2)
    # EMA mean/variance by hand: start at the first value, then
    # mean += a * d, var = (1 - a) * (var + a * d^2).
    var_cls = (1 - a) * (0 + a * 2.0**2)
    var_reg = (1 - a) * (0 + a * 0.5**2)
    assert rule.ema['loss_cls'][1] == pytest.approx(var_cls)
    assert rule.weights['loss_cls'] == pytest.approx(
        math.sqrt(var_reg) / math.sqrt(var_cls)
    )
