"""The ALWA rule (Yu, Shen, Hu, Yin, arXiv 2103.09488): new
classification-loss weights from a window of loss statistics, free of any
runner, model or process group (:class:`~.ALWAHook` feeds it)."""

import logging
import math
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from mmdet_libra_ext.utils.checks import check_one_of

STATISTICS = ('std', 'mean+std', 'diff_std')


class ALWARule:
    """The weight update of ALWA, for any number of (cls, reg) loss pairs.

    At the end of each window, per pair: with ``S`` the statistic of each
    loss over the window, the classification weight becomes
    ``1 - (S_cls - S_reg) / S_cls`` when ``S_cls > S_reg``. Iterations with
    non-finite losses are left out; a proposed weight at or below
    ``min_weight`` is refused (the weight stays); ``weight_bounds`` clamps.
    The arguments are :class:`~.ALWAHook`'s (see there); ``weights`` holds
    each classification key's weight (1 until a window changes it) and
    ``ema`` the running statistics with ``ema_momentum``.
    """

    def __init__(
        self,
        interval: int = 100,
        statistic: str = 'std',
        weighted_stats: bool = True,
        weight_bounds: Optional[Sequence[float]] = None,
        ema_momentum: Optional[float] = None,
        min_weight: float = 0.01,
    ) -> None:
        if (
            not isinstance(interval, int)
            or isinstance(interval, bool)
            or interval < 2
        ):
            raise ValueError(f'interval must be an int >= 2, got {interval!r}')
        check_one_of(statistic, STATISTICS, 'statistic')
        if weight_bounds is not None:
            if (
                len(weight_bounds) != 2
                or not all(isinstance(b, (int, float)) for b in weight_bounds)
                or not 0 < weight_bounds[0] <= weight_bounds[1] <= 1
            ):
                raise ValueError(
                    f'weight_bounds must be (low, high) with '
                    f'0 < low <= high <= 1, got '
                    f'{weight_bounds!r}'
                )
        if ema_momentum is not None and not (
            isinstance(ema_momentum, (int, float)) and 0 < ema_momentum < 1
        ):
            raise ValueError(
                f'ema_momentum must be in (0, 1), got {ema_momentum!r}'
            )
        if (
            not isinstance(min_weight, (int, float))
            or isinstance(min_weight, bool)
            or not 0 <= min_weight < 1
        ):
            raise ValueError(
                f'min_weight must be in [0, 1), got {min_weight!r}'
            )
        if statistic == 'diff_std' and (
            ema_momentum is not None or interval < 3
        ):
            raise ValueError(
                f"statistic='diff_std' needs interval >= 3 and no "
                f'ema_momentum, got interval={interval}, '
                f'ema_momentum={ema_momentum!r}'
            )
        self.interval = interval
        self.statistic = statistic
        self.weighted_stats = bool(weighted_stats)
        self.weight_bounds: Optional[Tuple[float, float]] = (
            None
            if weight_bounds is None
            else (float(weight_bounds[0]), float(weight_bounds[1]))
        )
        self.ema_momentum = ema_momentum
        self.min_weight = float(min_weight)
        self.weights: Dict[str, float] = {}
        self.ema: Dict[str, List[float]] = {}

    @staticmethod
    def _std(values: List[float]) -> float:
        n = len(values)
        mean = sum(values) / n
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))

    def _statistic(self, values: List[float]) -> float:
        if self.statistic == 'diff_std':
            diffs = [b - a for a, b in zip(values, values[1:])]
            return self._std(diffs) / math.sqrt(2)
        std = self._std(values)
        if self.statistic == 'mean+std':
            return sum(values) / len(values) + std
        return std

    def _ema_statistic(self, key: str, values: List[float]) -> float:
        a = self.ema_momentum
        assert a is not None
        state: Optional[List[float]] = self.ema.get(key)
        for v in values:
            if state is None:
                state = [v, 0.0]
            else:
                mean, var = state
                delta = v - mean
                state = [mean + a * delta, (1 - a) * (var + a * delta * delta)]
        assert state is not None  # values is not empty
        self.ema[key] = state
        std = math.sqrt(state[1])
        return std if self.statistic == 'std' else state[0] + std

    def update(
        self,
        pairs: Sequence[Tuple[str, str]],
        window: List[List[List[float]]],
        row_weights: List[List[float]],
        step: int,
    ) -> None:
        """New weights from a window of raw losses: ``window[i][p]`` is
        ``[cls, reg]`` of pair ``p`` at the window's iteration ``i`` (the
        rank mean in distributed runs), ``row_weights[i][p]`` the weight
        that iteration trained with, ``step`` the iteration the window ends
        at (for the log).

        Iterations whose losses are not finite (on any rank: the rank mean
        is then not finite on every rank alike) are left out of the
        statistics with a warning; with fewer than 2 finite iterations (3
        for ``'diff_std'``) the weights stay as they are.
        """
        finite = [
            i
            for i, row in enumerate(window)
            if all(math.isfinite(v) for pair in row for v in pair)
        ]
        if len(finite) < len(window):
            print_log(
                f'ALWA: {len(window) - len(finite)} of {len(window)} '
                f'iterations of this window had non-finite losses; they are '
                f'left out of the loss-weight statistics',
                'current',
                logging.WARNING,
            )
            window = [window[i] for i in finite]
            row_weights = [row_weights[i] for i in finite]
            if len(window) < (3 if self.statistic == 'diff_std' else 2):
                return
        for p, (cls_key, reg_key) in enumerate(pairs):
            cls_vals = [row[p][0] for row in window]
            reg_vals = [row[p][1] for row in window]
            if self.weighted_stats:
                cls_vals = [v * w[p] for v, w in zip(cls_vals, row_weights)]
            if self.ema_momentum is None:
                s_cls = self._statistic(cls_vals)
                s_reg = self._statistic(reg_vals)
            else:
                s_cls = self._ema_statistic(cls_key, cls_vals)
                s_reg = self._ema_statistic(reg_key, reg_vals)
            weight = self.weights.get(cls_key, 1.0)
            if s_cls > s_reg:
                proposed = 1 - (s_cls - s_reg) / s_cls
                if not proposed > self.min_weight:
                    print_log(
                        f'ALWA: the window ending at iteration '
                        f'{step} would set the weight of {cls_key!r} '
                        f'to {proposed:.4g} (S_cls={s_cls:.4g}, '
                        f'S_reg={s_reg:.4g} of {reg_key!r}), at or below '
                        f'min_weight={self.min_weight:g}: no regression '
                        f'signal to balance against; the weight stays '
                        f'{weight:.4g}',
                        'current',
                        logging.WARNING,
                    )
                    continue
                weight = proposed
            elif not self.weighted_stats:
                weight = 1.0
            if self.weight_bounds is not None:
                weight = min(
                    max(weight, self.weight_bounds[0]), self.weight_bounds[1]
                )
            self.weights[cls_key] = weight
