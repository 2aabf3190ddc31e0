"""End-to-end training speed of the demo Libra Faster R-CNN: this package's
components against MMDetection's built-in Libra components in the same
config, interleaved in one process, plus a breakdown of where one training
iteration's time goes, by module.

    python benchmarks/bench_e2e.py [--repeats 5] [--iters 3]
        [--ours CONFIG] [--ref CONFIG]

Both detectors are built with the same seed (identical initial weights,
identical batches), so the only difference is the four Libra components.
"""
import argparse
import collections
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import build_training  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, 'configs', 'demo')


class ModuleTimer:
    """Accumulates wall time of selected methods (CPU: synchronous)."""

    def __init__(self):
        self.total = collections.defaultdict(float)

    def wrap(self, obj, attr, key):
        orig = getattr(obj, attr)

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = orig(*args, **kwargs)
            self.total[key] += time.perf_counter() - t0
            return out

        setattr(obj, attr, timed)

    def install(self, model):
        """The parts of a two-stage detector's training iteration. Nested
        parts (the sampler inside the RoI head) are listed indented."""
        self.wrap(model.data_preprocessor, 'forward', 'data preprocessor')
        self.wrap(model.backbone, 'forward', 'backbone')
        necks = (list(model.neck) if isinstance(model.neck,
                                                torch.nn.Sequential)
                 else [model.neck])
        for neck in necks:
            self.wrap(neck, 'forward', f'neck: {type(neck).__name__}')
        self.wrap(model.rpn_head, 'loss_and_predict',
                  'RPN head (forward, targets, loss, proposals)')
        roi = model.roi_head
        self.wrap(roi, 'loss', 'RoI head (all)')
        self.wrap(roi.bbox_sampler, 'sample', '  RoI sampler')
        self.wrap(roi.bbox_assigner, 'assign', '  RoI assigner')
        self.wrap(roi.bbox_roi_extractor, 'forward', '  RoI extractor')
        self.wrap(roi.bbox_head, 'forward', '  bbox head forward')
        self.wrap(roi.bbox_head.loss_bbox, 'forward', '  loss_bbox')
        self.wrap(model, 'parse_losses', 'parse losses')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--iters', type=int, default=3,
                        help='training iterations per timed round')
    parser.add_argument('--data-root', default='data/shapes/')
    parser.add_argument(
        '--ours',
        default=os.path.join(DEMO, 'libra-faster-rcnn_r18_fpn_shapes_demo.py'))
    parser.add_argument(
        '--ref',
        default=os.path.join(DEMO,
                             'mmdet-libra-faster-rcnn_r18_fpn_shapes_demo.py'))
    args = parser.parse_args()

    runs = {}
    for name, cfg in (('ours', args.ours), ('mmdet', args.ref)):
        runs[name] = build_training(cfg, args.data_root, args.iters)
    # Warm-up, which also lets MMDetection's sampler make its first-call
    # configuration change.
    for model, optim, batches in runs.values():
        for batch in batches:
            model.train_step(batch, optim)

    samples = {k: [] for k in runs}
    for _ in range(args.repeats):
        for name, (model, optim, batches) in runs.items():
            t0 = time.perf_counter()
            for batch in batches:
                model.train_step(batch, optim)
            samples[name].append((time.perf_counter() - t0) / len(batches))
    it = {k: statistics.median(v) for k, v in samples.items()}
    ratios = sorted(a / b for a, b in zip(samples['ours'], samples['mmdet']))

    # Profile: the same iterations once more, with per-module timers.
    profiles = {}
    for name, (model, optim, batches) in runs.items():
        timer = ModuleTimer()
        timer.install(model)
        t0 = time.perf_counter()
        for _ in range(2):
            for batch in batches:
                model.train_step(batch, optim)
        wall = time.perf_counter() - t0
        fwd = ('data preprocessor', 'backbone', 'RPN head (forward, targets, '
               'loss, proposals)', 'RoI head (all)', 'parse losses')
        parts = dict(timer.total)
        parts['backward + optimizer step'] = wall - sum(
            v for k, v in parts.items()
            if k in fwd or k.startswith('neck'))
        profiles[name] = {k: v / wall for k, v in parts.items()}

    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{args.repeats} interleaved rounds of {args.iters} iterations '
          f'(batch {len(runs["ours"][2][0]["inputs"])})')
    print('\n| measure | value |\n|---|---|')
    print(f'| iteration time, ours / MMDetection components (ratio of '
          f'medians) | {it["ours"] / it["mmdet"]:.3f} |')
    print(f'| per-round ratios (min / median / max) | {ratios[0]:.3f} / '
          f'{statistics.median(ratios):.3f} / {ratios[-1]:.3f} |')
    print('\n## Share of one training iteration by module\n')
    print('| module | ours | MMDetection components |\n|---|---|---|')
    keys = list(profiles['ours'])
    for k in profiles['mmdet']:
        if k not in keys:
            keys.append(k)
    for k in keys:
        cells = [f'{100 * profiles[n].get(k, float("nan")):.1f}%'
                 for n in ('ours', 'mmdet')]
        print(f'| {k} | {cells[0]} | {cells[1]} |')


if __name__ == '__main__':
    main()
