"""ALWA: Adaptive Loss Weight Adjustment (Yu, Shen, Hu, Yin, arXiv 2103.09488)
for any MMDetection detector, switched on by config."""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
)

import torch
import torch.distributed as dist
from mmengine.hooks import CheckpointHook, Hook
from mmengine.hooks.hook import DATA_BATCH
from mmengine.model import is_model_wrapper
from torch import Tensor

from mmdet_libra_ext.models.losses.alwa_losses import (
    log_name,
    loss_total,
    resolve_pairs,
    scaled,
)
from mmdet_libra_ext.models.losses.alwa_rule import ALWARule
from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.compat import checkpoint_hook_saves_after_iter

if TYPE_CHECKING:
    from mmengine.runner import Runner


def _world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def _rank_mean(t: Tensor) -> Tensor:
    """Mean over the ranks (identity when not distributed)."""
    world = _world_size()
    if world > 1:
        dist.all_reduce(t)
        t /= world
    return t


@HOOKS.register_module()
class ALWAHook(Hook):
    """Adaptive classification/regression loss weights (ALWA).

    Every ``interval`` iterations, where a statistic of the classification
    loss exceeds that of the regression loss, the classification weight is
    set to ``S_reg / S_cls``, per (cls, reg) pair of loss keys; defaults
    reproduce the published algorithm. docs/components.md gives the rule,
    what differs from the authors' code and what is logged.

    Args:
        pairs (sequence of (str, str), optional): ``(cls_key, reg_key)``
            loss names. Defaults to the RPN's and the head's found.
        interval (int): Window length, >= 2. Defaults to 100.
        statistic (str): ``'std'``, ``'mean+std'`` or ``'diff_std'``.
        weighted_stats (bool): Of the weighted loss (published). Default True.
        weight_bounds (tuple[float, float], optional): Clamp of the weight.
        warmup_iters (int): Before the first window. Defaults to 0.
        ema_momentum (float, optional): Moving statistics instead of windows.
        min_weight (float): A weight at or below it is not applied.
            Defaults to 0.01.
    """

    def __init__(
        self,
        pairs: Optional[Sequence[Sequence[str]]] = None,
        interval: int = 100,
        statistic: str = 'std',
        weighted_stats: bool = True,
        weight_bounds: Optional[Sequence[float]] = None,
        warmup_iters: int = 0,
        ema_momentum: Optional[float] = None,
        min_weight: float = 0.01,
    ) -> None:
        if not isinstance(warmup_iters, int) or warmup_iters < 0:
            raise ValueError(
                f'warmup_iters must be an int >= 0, got {warmup_iters!r}'
            )
        self.rule = ALWARule(
            interval=interval,
            statistic=statistic,
            weighted_stats=weighted_stats,
            weight_bounds=weight_bounds,
            ema_momentum=ema_momentum,
            min_weight=min_weight,
        )
        if pairs is not None:
            pairs = [tuple(p) for p in pairs]
            if not pairs or any(
                len(p) != 2 or not all(isinstance(k, str) for k in p)
                for p in pairs
            ):
                raise ValueError(
                    f'pairs must be a non-empty list of '
                    f'(cls_key, reg_key) names, got {pairs!r}'
                )
        self.pairs: Optional[List[Tuple[str, str]]] = (
            None if pairs is None else [(str(c), str(r)) for c, r in pairs]
        )
        self.interval = interval
        self.warmup_iters = warmup_iters
        self._steps = 0  # calls of parse_losses seen (training iterations)
        self._rows: List[Tensor] = []  # per iteration: (P, 2) raw losses
        self._row_weights: List[List[float]] = []

    @property
    def weights(self) -> Dict[str, float]:
        """The current weight of each classification loss key."""
        return self.rule.weights

    # -- the wrapper around parse_losses --------------------------------
    def _resolve_pairs(self, losses: dict) -> None:
        self.pairs = resolve_pairs(self.pairs, losses)
        for cls_key, _ in self.pairs:
            self.weights.setdefault(cls_key, 1.0)

    def process_losses(self, losses: dict) -> dict:
        """Record the raw losses, update the weights at the end of a
        window, and return the losses with the classification terms
        weighted. Called once per training iteration."""
        if self.pairs is None or any(
            k not in self.weights for k, _ in self.pairs
        ):
            self._resolve_pairs(losses)
        assert self.pairs is not None
        self._steps += 1
        raw = [
            [loss_total(losses[c]), loss_total(losses[r])]
            for c, r in self.pairs
        ]
        weights_now = [self.weights[c] for c, _ in self.pairs]
        if self._steps > self.warmup_iters:
            self._rows.append(torch.stack([torch.stack(p) for p in raw]))
            self._row_weights.append(weights_now)
            if len(self._rows) == self.interval:
                window = _rank_mean(self._stacked_rows())  # one all-reduce
                # One host read per window.
                self.rule.update(
                    self.pairs, window.tolist(), self._row_weights, self._steps
                )
                self._rows, self._row_weights = [], []
        out = dict(losses)
        for (cls_key, reg_key), w, (rc, rr) in zip(
            self.pairs, weights_now, raw
        ):
            out[cls_key] = scaled(losses[cls_key], w)
            # Logged with the losses (same host read as theirs); the names
            # hold no 'loss', so parse_losses does not add them to the
            # total.
            out[log_name(cls_key, 'weight')] = rc.new_tensor(w)
            out[log_name(cls_key, 'raw')] = rc
            out[log_name(reg_key, 'raw')] = rr
        return out

    def install(self, model: Any) -> None:
        """Wrap ``model.parse_losses`` (on the instance) once."""
        module = model.module if is_model_wrapper(model) else model
        if getattr(module, '_alwa_hook', None) is self:
            return
        original = module.parse_losses

        def parse_losses(losses: dict) -> Any:
            return original(self.process_losses(losses))

        module.parse_losses = parse_losses
        module._alwa_hook = self

    # -- mmengine hook points --------------------------------------------
    def before_train(self, runner: Runner) -> None:
        """Wrap the model's ``parse_losses`` (see :meth:`install`)."""
        self.install(runner.model)

    def state_dict(self) -> dict:
        """Weights, counters and the current window (plain values)."""
        return {
            'pairs': [list(p) for p in self.pairs or []],
            'weights': dict(self.weights),
            'steps': self._steps,
            'rows': (
                torch.stack(self._rows).cpu() if self._rows else torch.zeros(0)
            ),
            'row_weights': [list(w) for w in self._row_weights],
            'ema': {k: list(v) for k, v in self.rule.ema.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        if state['pairs']:
            self.pairs = [tuple(p) for p in state['pairs']]
        self.rule.weights = dict(state['weights'])
        self._steps = int(state['steps'])
        self._rows = (
            list(state['rows'].unbind(0)) if state['rows'].numel() else []
        )
        self._row_weights = [list(w) for w in state['row_weights']]
        self.rule.ema = {k: list(v) for k, v in state['ema'].items()}

    def _stacked_rows(self) -> Tensor:
        """The current window as one float tensor on the training device
        (rows restored from a checkpoint are on the CPU)."""
        device = self._rows[-1].device
        return torch.stack([r.to(device) for r in self._rows]).float()

    def sync_window(self) -> None:
        """Replace each rank's partial window by the rank mean (one
        all-reduce, every rank must call it).

        Checkpoints are written by rank 0 alone, with rank 0's window; after
        this call that window is every rank's, and as the window's statistics
        use only the rank mean of each row (a linear reduction), the update
        at the end of the window is unchanged.
        """
        if self._rows and _world_size() > 1:
            self._rows = list(_rank_mean(self._stacked_rows()).unbind(0))

    def after_train_epoch(self, runner: Runner) -> None:
        """Average the open window over the ranks before the epoch's
        checkpoint."""
        # Before CheckpointHook (priority VERY_LOW) saves the epoch.
        self.sync_window()

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Average the open window over the ranks where an iteration-based
        ``CheckpointHook`` is about to save."""
        # Iteration-based checkpoints: sync where CheckpointHook saves.
        for hook in runner.hooks:
            if (
                isinstance(hook, CheckpointHook)
                and not hook.by_epoch
                and checkpoint_hook_saves_after_iter(hook, runner)
            ):
                self.sync_window()
                return

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Store the hook's state under ``checkpoint['alwa']``."""
        checkpoint['alwa'] = self.state_dict()

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Restore the hook's state from a checkpoint that has one."""
        if 'alwa' in checkpoint:
            self.load_state_dict(checkpoint['alwa'])
