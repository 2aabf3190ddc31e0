"""Hook that makes a run's random streams resumable and independent of
validation."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.hooks.hook import DATA_BATCH
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.compat import (
    ITER_LOOP_SKIPS_TRAINED_BATCHES,
    runner_randomness,
)

if TYPE_CHECKING:
    from mmengine.runner import Runner


def iteration_seed(seed: int, iteration: int, rank: int = 0) -> int:
    """A 64-bit seed for one training iteration, well mixed from the run's
    seed, the number of completed iterations and (optionally) the rank."""
    state = np.random.SeedSequence([seed, iteration, rank]).generate_state(
        2, dtype=np.uint32
    )
    return (int(state[0]) << 32) | int(state[1])


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every CUDA device)
    global generators.

    The same as ``torch.manual_seed`` on CPU and CUDA machines, in a tenth
    of its time: it skips the checks for other device types (MPS, XPU,
    MTIA), which took most of its 0.2 ms.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


class _ReseedingIterator:
    """The iteration-based loop's data iterator, re-seeding the global
    generators before every batch it fetches: batch ``i`` (counted from the
    start of the process, so the batches mmengine re-fetches to skip them
    on resume are counted too) is loaded from the state of iteration ``i``.
    """

    def __init__(
        self, iterator: Iterator, reseed: Callable[[int], None]
    ) -> None:
        self._iterator = iterator
        self._reseed = reseed
        self._fetched = 0

    def __iter__(self) -> _ReseedingIterator:
        return self

    def __next__(self) -> Any:
        self._reseed(self._fetched)
        self._fetched += 1
        return next(self._iterator)


@HOOKS.register_module()
class ResumableRandomnessHook(Hook):
    """Training randomness that ``--resume`` continues exactly.

    Seeds Python's, NumPy's and torch's global generators from
    ``(seed, i, rank)`` before the batch of training iteration ``i`` is
    loaded, so that a run resumed from any checkpoint its loop saves
    reproduces the uninterrupted run bit for bit (with
    ``randomness=dict(seed=..., deterministic=True)``). What is covered,
    what is refused (epoch loops with persistent workers) and what is
    reported: docs/components.md.

    Example:
        >>> custom_hooks = [
        ...     dict(type='mmdet_libra_ext.ResumableRandomnessHook')]
        >>> randomness = dict(seed=0, deterministic=True)
    """

    priority = 'VERY_LOW'  # after the other hooks of the same stage

    def __init__(self) -> None:
        # False once before_train finds an IterBasedTrainLoop (which then
        # re-seeds per fetched batch instead).
        self._per_iteration = True

    def _reseed(self, runner: Runner, iteration: int) -> None:
        seed = runner.seed if runner.seed is not None else 0
        diff_rank = runner_randomness(runner).get('diff_rank_seed', False)
        rank = get_rank() if diff_rank else 0
        seed_everything(iteration_seed(seed, iteration, rank))

    def before_train(self, runner: Runner) -> None:
        """Choose per-iteration re-seeding (epoch loops) or per-fetch
        re-seeding (iteration loops), and refuse what cannot resume exactly."""
        loop = runner.train_loop
        self._per_iteration = not isinstance(loop, IterBasedTrainLoop)
        if not self._per_iteration:
            loop.dataloader_iterator = _ReseedingIterator(
                loop.dataloader_iterator, lambda i: self._reseed(runner, i)
            )
            if not ITER_LOOP_SKIPS_TRAINED_BATCHES:
                # mmengine < 0.10.3 resumes from the first batch: skip the
                # trained ones as later mmengine does.
                for _ in range(runner.iter):
                    next(loop.dataloader_iterator)
        elif isinstance(loop, EpochBasedTrainLoop):
            self._check_epoch_loop(runner, loop)

    @staticmethod
    def _check_epoch_loop(runner: Runner, loop: Any) -> None:
        loader = loop.dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            raise ValueError(
                'ResumableRandomnessHook: train_dataloader has '
                f'persistent_workers=True with num_workers='
                f'{loader.num_workers} in an EpochBasedTrainLoop, so the '
                "workers' random streams run on across epochs and a resumed "
                'run cannot reproduce them. Set '
                'train_dataloader.persistent_workers=False (each epoch then '
                'starts workers seeded by mmengine) or num_workers=0.'
            )
        try:
            iters_per_epoch = len(loader)
        except TypeError:  # an iterable dataset: no epoch length
            return
        if iters_per_epoch and runner.iter % iters_per_epoch != 0:
            runner.logger.warning(
                f'ResumableRandomnessHook: resumed at iteration {runner.iter}'
                f', inside epoch {runner.epoch + 1} of {iters_per_epoch} '
                'iterations: mmengine restarts the epoch from its first '
                'batch, so this run does not reproduce the uninterrupted one.'
                ' Resume from an epoch-end checkpoint for an exact resume.'
            )

    def before_train_epoch(self, runner: Runner) -> None:
        """Re-seed for the epoch's first batch (epoch loops)."""
        if self._per_iteration:
            self._reseed(runner, runner.iter)

    def after_train_iter(
        self,
        runner: Runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Re-seed for the next iteration's batch (epoch loops)."""
        # mmengine counts the iteration as complete after these hooks.
        if self._per_iteration:
            self._reseed(runner, runner.iter + 1)
