"""Timing helpers: interleaved repeats in one process, ratios of medians."""
import multiprocessing as mp
import resource
import statistics
import time
from typing import Callable, Dict


def time_ratio(fns: Dict[str, Callable[[], None]], repeats: int = 15,
               number: int = 3, warmup: int = 2) -> Dict[str, float]:
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


def _peak_child(setup, name, queue):
    fn = setup()[name]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((peak - base) / 1024.0)


def peak_memory_mb(setup: Callable[[], Dict[str, Callable[[], None]]],
                   name: str) -> float:
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
