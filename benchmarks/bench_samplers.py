"""Samplers against MMDetection's in one process: IoU-balanced negatives
(20,000 proposals, 512 samples) and instance-balanced positives (100 gts).

    python benchmarks/bench_samplers.py [--repeats 15]
"""
import argparse
import os
import sys

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import \
    InstanceBalancedPosSampler as MMDetPos
from mmdet.models.task_modules.samplers import \
    IoUBalancedNegSampler as MMDetNeg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import print_table, time_ratio  # noqa: E402

from mmdet_libra_ext.task_modules.samplers import (  # noqa: E402
    InstanceBalancedPosSampler, IoUBalancedNegSampler)


def assign_result(n=20_000, num_gts=100, pos_frac=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    iou = torch.rand(n, generator=g) * 0.5
    iou[torch.rand(n, generator=g) < 0.5] = 0  # background proposals
    num_pos = int(n * pos_frac)
    iou[:num_pos] = 0.5 + torch.rand(num_pos, generator=g) * 0.5
    gt_inds = torch.zeros(n, dtype=torch.long)
    gt_inds[:num_pos] = torch.randint(1, num_gts + 1, (num_pos, ),
                                      generator=g)
    return AssignResult(num_gts, gt_inds, iou, torch.zeros_like(gt_inds))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=15)
    args = parser.parse_args()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'median of {args.repeats} interleaved repeats')
    assign = assign_result()
    ours_neg = IoUBalancedNegSampler(num=512, pos_fraction=0.25)
    ref_neg = MMDetNeg(num=512, pos_fraction=0.25)
    ref_neg._sample_neg(assign, 384)  # its steady state
    ours_pos = InstanceBalancedPosSampler(num=512, pos_fraction=0.25)
    ref_pos = MMDetPos(num=512, pos_fraction=0.25)
    rows = []
    # A few calls in a row after the other sampler ran (cold caches, as in
    # a training step, where other work runs between calls), and many in a
    # row (warm caches): the ratio depends on it, so both are printed.
    for number, caches in ((5, 'cold'), (50, 'warm')):
        t_neg = time_ratio({
            'ours': lambda: ours_neg._sample_neg(assign, 384),
            'mmdet': lambda: ref_neg._sample_neg(assign, 384)
        }, repeats=args.repeats, number=number)
        t_pos = time_ratio({
            'ours': lambda: ours_pos._sample_pos(assign, 128),
            'mmdet': lambda: ref_pos._sample_pos(assign, 128)
        }, repeats=args.repeats, number=number)
        rows += [
            (f'IoU-balanced negatives, 20k proposals, 384 of 512 '
             f'({number} calls, {caches})',
             f"{t_neg['ours'] / t_neg['mmdet']:.3f}"),
            (f'Instance-balanced positives, 100 gts, 128 of 1000 '
             f'({number} calls, {caches})',
             f"{t_pos['ours'] / t_pos['mmdet']:.3f}"),
        ]
    print_table('Sampling time ratio (ours / mmdet)', rows)
    # Smaller proposal sets, as in the demo (300 per image) and a COCO RPN
    # (2,000): 96 of 128 RoIs are negatives.
    rows = []
    for n, gts in ((300, 5), (2000, 20)):
        small = assign_result(n=n, num_gts=gts, pos_frac=0.1)
        ours = IoUBalancedNegSampler(num=128, pos_fraction=0.25)
        ref = MMDetNeg(num=128, pos_fraction=0.25)
        ref._sample_neg(small, 96)
        t = time_ratio({
            'ours': lambda: ours._sample_neg(small, 96),
            'mmdet': lambda: ref._sample_neg(small, 96)
        }, repeats=args.repeats, number=20)
        rows.append((f'IoU-balanced negatives, {n} proposals, 96 of 128',
                     f"{t['ours'] / t['mmdet']:.3f}"))
    print_table('Sampling time ratio at smaller sizes (ours / mmdet)', rows)


if __name__ == '__main__':
    main()
