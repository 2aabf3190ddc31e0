"""ALWA overhead on the demo Faster R-CNN: training iterations with and
without the hook, interleaved in one process, and the hook's own time per
iteration.

    python -m benchmarks.bench_alwa [--repeats 6]
"""

import argparse
import os
import statistics
import time

import torch

from benchmarks.common import build_training  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=6)
    parser.add_argument('--data-root', default='data/shapes/')
    args = parser.parse_args()
    from mmdet_libra_ext.engine.hooks import ALWAHook

    model, optim, batches = build_training(
        os.path.join(
            ROOT, 'configs', 'demo', 'faster-rcnn_r18_fpn_shapes_demo.py'
        ),
        args.data_root,
        4,
    )
    plain = model.parse_losses
    hook = ALWAHook(interval=20)
    hook.install(model)
    with_alwa = model.parse_losses
    hook_time = []
    orig_process = hook.process_losses

    def timed(losses):
        t0 = time.perf_counter()
        out = orig_process(losses)
        hook_time.append(time.perf_counter() - t0)
        return out

    hook.process_losses = timed
    samples = {'plain': [], 'alwa': []}
    for r in range(args.repeats + 1):
        for name, fn in (('plain', plain), ('alwa', with_alwa)):
            model.parse_losses = fn
            t0 = time.perf_counter()
            for batch in batches:
                model.train_step(batch, optim)
            if r:  # the first round warms up
                samples[name].append((time.perf_counter() - t0) / len(batches))
    it_plain = statistics.median(samples['plain'])
    it_alwa = statistics.median(samples['alwa'])
    hook_ms = statistics.median(hook_time) * 1e3
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'median of {args.repeats} interleaved rounds of '
        f'{len(batches)} iterations'
    )
    print('\n| measure | value |\n|---|---|')
    print(f'| iteration time with ALWA / without | {it_alwa / it_plain:.3f} |')
    print(
        f'| ALWA hook time / iteration time | {hook_ms / 1e3 / it_plain:.5f} |'
    )


if __name__ == '__main__':
    main()
