"""Two gloo ranks train ALWA on different loss sequences (run as a script
by test_alwa_hook.py: spawned children must import this module by path)."""

import os
import socket
import sys

import numpy as np
import torch.distributed as dist
import torch.multiprocessing as mp

# (Run as a script: its folder is on sys.path.)
from alwa_helpers import loss_sequence, run_hook  # noqa: E402

from mmdet_libra_ext.engine.hooks import ALWAHook  # noqa: E402


def _dist_worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    calls = []
    original = dist.all_reduce

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    dist.all_reduce = counting
    try:
        cls, reg = loss_sequence(300, seed=10 + rank)  # ranks differ
        trace = run_hook(ALWAHook(interval=50), cls, reg)
    finally:
        dist.all_reduce = original
    np.save(os.path.join(out_dir, f'trace{rank}.npy'), np.array(trace))
    np.save(os.path.join(out_dir, f'calls{rank}.npy'), np.array(len(calls)))
    dist.destroy_process_group()


if __name__ == '__main__':
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_dist_worker, args=(2, port, sys.argv[1]), nprocs=2)
