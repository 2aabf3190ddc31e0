"""ResumableRandomnessHook: the random state at an iteration depends on
(seed, iteration, rank) only, so a resumed run draws what the uninterrupted
one drew, and validation does not shift the training streams."""
import os.path as osp
import random
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mmdet_libra_ext.engine.hooks import ResumableRandomnessHook
from mmdet_libra_ext.engine.hooks import resumable_randomness_hook as rrh
from mmdet_libra_ext.task_modules.samplers import IoUBalancedNegSampler

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'task_modules', 'samplers'))
from helpers import make_assign  # noqa: E402


def fake_runner(seed=0, it=0, diff_rank_seed=False):
    return SimpleNamespace(seed=seed, iter=it, _train_loop=object(),
                           _randomness_cfg=dict(seed=seed,
                                                diff_rank_seed=diff_rank_seed))


def draws():
    return (random.random(), float(np.random.rand()),
            float(torch.rand(())))


def test_state_depends_on_seed_iteration_and_rank(monkeypatch):
    hook = ResumableRandomnessHook()
    hook.before_train(fake_runner(seed=3, it=5))
    a = draws()
    torch.rand(100), np.random.rand(7)  # anything drawn in between
    hook.before_train(fake_runner(seed=3, it=5))
    assert draws() == a
    hook.before_train(fake_runner(seed=3, it=6))
    assert draws() != a
    hook.before_train(fake_runner(seed=4, it=5))
    assert draws() != a
    # Ranks share the stream unless diff_rank_seed asks otherwise.
    monkeypatch.setattr(rrh, 'get_rank', lambda: 1)
    hook.before_train(fake_runner(seed=3, it=5))
    assert draws() == a
    hook.before_train(fake_runner(seed=3, it=5, diff_rank_seed=True))
    assert draws() != a


def test_iteration_seeds_are_distinct():
    seeds = {rrh.iteration_seed(0, i, r) for i in range(2000)
             for r in range(4)}
    assert len(seeds) == 8000


def test_no_reseed_outside_training():
    hook = ResumableRandomnessHook()
    runner = fake_runner(it=5)
    runner._train_loop = None  # tools/test.py
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    hook.after_val_epoch(runner)
    assert torch.equal(torch.rand(3), expected)


def sampler_run(start, stop, use_hook, val_after=()):
    """The RoI sampler's draws over training iterations [start, stop),
    starting in a fresh process-like state (as a resumed run does);
    validation (drawing random numbers) after the iterations in
    ``val_after``."""
    hook = ResumableRandomnessHook()
    sampler = IoUBalancedNegSampler(num=64, pos_fraction=0.25)
    assign = make_assign(num_neg=500, max_iou=0.5)
    torch.manual_seed(999 + start)  # whatever the process start left
    runner = fake_runner(seed=1, it=start)
    if use_hook:
        hook.before_train(runner)
    out = []
    for it in range(start, stop):
        out.append(sampler._sample_neg(assign, 48).tolist())
        runner.iter = it + 1
        if use_hook:
            hook.after_train_iter(runner, it)
        if it in val_after:
            torch.rand(50)  # e.g. the val loader's base seed
            if use_hook:
                hook.after_val_epoch(runner)
    return out


@pytest.mark.parametrize('use_hook', [True, False])
def test_resumed_sampling_equals_uninterrupted(use_hook):
    full = sampler_run(0, 8, use_hook, val_after=(3, ))
    resumed = sampler_run(4, 8, use_hook)
    # With the hook the resumed draws are the uninterrupted ones; without
    # it they differ (what MMDetection alone gives).
    assert (resumed == full[4:]) is use_hook
