"""Timing helpers: interleaved repeats in one process, ratios of medians."""

import multiprocessing as mp
import random
import resource
import statistics
import time
from typing import Callable, Dict, Optional


def time_ratio(
    fns: Dict[str, Callable[[], None]],
    repeats: int = 15,
    number: int = 3,
    warmup: int = 2,
) -> Dict[str, float]:
    """Median seconds per call of each function, measured interleaved
    (every repeat runs every function once in turn, so machine noise hits
    all of them alike)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - t0) / number)
    return {k: statistics.median(v) for k, v in samples.items()}


def paired_ratio(a, b, resamples=2000, seed=0):
    """Median of the per-round ratios ``a[i] / b[i]`` of two series timed
    in the same rounds, with a 95% bootstrap interval of that median
    (rounds resampled with replacement). Returns ``(median, lo, hi)``."""
    ratios = [x / y for x, y in zip(a, b)]
    rng = random.Random(seed)
    meds = sorted(
        statistics.median(rng.choices(ratios, k=len(ratios)))
        for _ in range(resamples)
    )
    return (
        statistics.median(ratios),
        meds[int(0.025 * resamples)],
        meds[int(0.975 * resamples) - 1],
    )


def _peak_child(setup, name, queue):
    fn = setup()[name]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((peak - base) / 1024.0)


def peak_memory_mb(
    setup: Callable[[], Dict[str, Callable[[], None]]], name: str
) -> float:
    """Growth of the peak resident memory (MiB) of a fresh process (inputs
    already built) while it runs ``setup()[name]`` once: the extra memory
    one call needs beyond its inputs, as the operating system sees it."""
    ctx = mp.get_context('spawn')  # fork deadlocks torch's thread pool
    queue = ctx.Queue()
    proc = ctx.Process(target=_peak_child, args=(setup, name, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def print_table(title, rows, header=('case', 'ratio')):
    print(f'\n## {title}\n')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for row in rows:
        print('| ' + ' | '.join(str(c) for c in row) + ' |')


def build_training(
    config: str,
    data_root: str,
    num_batches: int,
    seed: Optional[int] = 0,
    modify: Optional[Callable] = None,
):
    """A config's detector (train mode), optimizer wrapper and the first
    ``num_batches`` training batches, built by MMDetection's runner (which
    also seeds everything with ``seed``, so equal seeds give equal initial
    weights and batches), with the config's loss-processing hooks (ALWA)
    installed on the detector. ``modify(cfg)`` changes the config first."""
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.work_dir = '/tmp/bench_work_dir'
    cfg.log_level = 'ERROR'
    cfg.randomness = dict(seed=seed)
    cfg.train_dataloader.dataset.data_root = data_root
    if modify is not None:
        modify(cfg)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    model.train()
    # The config's hooks that wrap the model's loss processing (ALWA's
    # weights) are part of its training iteration: installed as the
    # runner's before_train installs them.
    for hook in runner.hooks:
        if callable(getattr(hook, 'install', None)):
            hook.install(model)
    loader = runner.build_dataloader(cfg.train_dataloader)
    optim = runner.build_optim_wrapper(cfg.optim_wrapper)
    return model, optim, [b for _, b in zip(range(num_batches), loader)]
