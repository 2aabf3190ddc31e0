"""What BalanceMonitorHook costs: a training iteration of the demo Libra
Faster R-CNN with the hook reading it, against the same iteration without,
interleaved in one process, with an A/A control (two plain iterations).

    python -m benchmarks.bench_monitor [--repeats 20] [--interval 50]

The hook reads only every ``interval``-th iteration, so the cost at that
interval is ``1 + (r - 1) / interval`` of an iteration, ``r`` being the
ratio of a read iteration to a plain one (measured here).
"""

import argparse
import os
import time
import types

from benchmarks.common import build_training, paired_ratio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--interval', type=int, default=50)
    parser.add_argument('--data-root', default='data/shapes/')
    args = parser.parse_args(argv)
    from mmengine.logging import MessageHub

    from mmdet_libra_ext.engine.hooks import BalanceMonitorHook

    model, optim, batches = build_training(CONFIG, args.data_root, 2)
    hook = BalanceMonitorHook(interval=1)
    # What the hook reads of a runner.
    runner = types.SimpleNamespace(
        iter=0,
        model=model,
        message_hub=MessageHub.get_instance('bench_monitor'),
    )

    def plain(batch):
        return model.train_step(batch, optim_wrapper=optim)

    def read(batch):
        hook.before_train_iter(runner, 0, batch)
        out = model.train_step(batch, optim_wrapper=optim)
        hook.after_train_iter(runner, 0, batch, out)
        return out

    for b in batches:  # warm-up
        plain(b)
        read(b)
    times = {'plain': [], 'read': [], 'plain (A/A)': []}
    for i in range(args.repeats):
        b = batches[i % len(batches)]
        order = list(times) if i % 2 == 0 else list(times)[::-1]
        for name in order:
            fn = read if name == 'read' else plain
            t = time.perf_counter()
            fn(b)
            times[name].append(time.perf_counter() - t)
    r, lo, hi = paired_ratio(times['read'], times['plain'])
    a, alo, ahi = paired_ratio(times['plain (A/A)'], times['plain'])
    print(
        f'read / plain iteration: {r:.3f} (95% CI {lo:.3f} to {hi:.3f}); '
        f'A/A: {a:.3f} ({alo:.3f} to {ahi:.3f}); {args.repeats} rounds'
    )
    print(
        f'at interval {args.interval}: '
        f'{1 + (r - 1) / args.interval:.4f} of an iteration'
    )


if __name__ == '__main__':
    main()
