"""Hook that makes a run's random streams resumable and independent of
validation."""
import random

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmdet_libra_ext.registry import HOOKS


def iteration_seed(seed: int, iteration: int, rank: int = 0) -> int:
    """A 64-bit seed for one training iteration, well mixed from the run's
    seed, the number of completed iterations and (optionally) the rank."""
    state = np.random.SeedSequence([seed, iteration, rank]).generate_state(
        2, dtype=np.uint32)
    return (int(state[0]) << 32) | int(state[1])


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and every CUDA device)
    global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds all CUDA devices


@HOOKS.register_module()
class ResumableRandomnessHook(Hook):
    """Training randomness that ``--resume`` continues exactly.

    MMDetection seeds the global generators (Python, NumPy, torch) once when
    the runner starts, and checkpoints do not hold their states, so a
    resumed run draws different random numbers from the uninterrupted one:
    other RoI samples, other flips. This hook re-seeds the three global
    generators after every training iteration from the run's seed and the
    number of completed iterations (and the rank, when the config asks for
    ``randomness=dict(diff_rank_seed=True)``). The random state at the start
    of iteration ``i`` is then a function of ``(seed, i, rank)`` alone, so

    - a run resumed at an epoch boundary draws exactly what the
      uninterrupted run drew (the data pipeline's flips in the main process,
      the samplers of this package and MMDetection's, the seeds of the
      data loader's workers), on every rank, with nothing added to the
      checkpoint;
    - validation no longer shifts the training streams: the generators are
      re-seeded after it, so changing ``val_interval`` does not change what
      training samples.

    With ``randomness=dict(seed=..., deterministic=True)`` a resumed run
    then reproduces the uninterrupted run's losses (tested). Limitation: an
    ``IterBasedTrainLoop`` resumed mid-epoch with ``num_workers=0`` first
    re-loads the skipped batches in the main process, which draws from the
    generators before the first resumed iteration; with data loader workers
    (whose own generators replay the skipped batches) that does not apply.

    Re-seeding costs tens of microseconds per iteration.
    """

    priority = 'VERY_LOW'  # after the other hooks of the same stage

    def _reseed(self, runner) -> None:
        seed = runner.seed if runner.seed is not None else 0
        diff_rank = runner._randomness_cfg.get('diff_rank_seed', False)
        rank = get_rank() if diff_rank else 0
        seed_everything(iteration_seed(seed, runner.iter, rank))

    def before_train(self, runner) -> None:
        # After --resume runner.iter is the checkpoint's iteration: the same
        # state the uninterrupted run set after that iteration.
        self._reseed(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._reseed(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        # Only during training (tools/test.py builds no train loop).
        loop = getattr(runner, '_train_loop', None)
        if loop is not None and not isinstance(loop, dict):
            self._reseed(runner)
