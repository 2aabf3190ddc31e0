"""Samplers against MMDetection's in one process: IoU-balanced negatives
(20,000 proposals, 512 samples) and instance-balanced positives (100 gts);
with ``--rpn``, the RPN sampling step instead (see :func:`rpn_step`).

    python -m benchmarks.bench_samplers [--repeats 15] [--rpn]
"""

import argparse
import os
import time

import torch
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.models.task_modules.samplers import (
    InstanceBalancedPosSampler as MMDetPos,
)
from mmdet.models.task_modules.samplers import (
    IoUBalancedNegSampler as MMDetNeg,
)

from benchmarks.common import paired_ratio, print_table, time_ratio  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from mmdet_libra_ext.analysis import (  # noqa: E402
    assigned_images,
    coco_scale_image,
    load_config,
    rpn_samplers,
)
from mmdet_libra_ext.task_modules.samplers import (  # noqa: E402
    InstanceBalancedPosSampler,
    IoUBalancedNegSampler,
)


def assign_result(n=20_000, num_gts=100, pos_frac=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    iou = torch.rand(n, generator=g) * 0.5
    iou[torch.rand(n, generator=g) < 0.5] = 0  # background proposals
    num_pos = int(n * pos_frac)
    iou[:num_pos] = 0.5 + torch.rand(num_pos, generator=g) * 0.5
    gt_inds = torch.zeros(n, dtype=torch.long)
    gt_inds[:num_pos] = torch.randint(1, num_gts + 1, (num_pos,), generator=g)
    return AssignResult(num_gts, gt_inds, iou, torch.zeros_like(gt_inds))


def rpn_step(repeats: int, data_root=None) -> None:
    """The RPN sampling step of one batch, as the Libra RPN config samples
    (``CombinedSampler`` of ours), against MMDetection's samplers of the
    same names and the stock ``RandomSampler``, at demo scale (8 images of
    the demo's ~16k anchors, assigned by its RPN assigner) and at COCO
    scale (one 800x1344 image, 268,569 anchors, 60 ground truths). A second
    ``RandomSampler`` timed in the same rounds is the A/A control. Ratios
    are medians of per-round ratios with 95% bootstrap intervals."""
    from mmdet.registry import TASK_UTILS

    config = os.path.join(
        ROOT, 'configs', 'demo', 'libra-rpn_r18_fpn_shapes_demo.py'
    )
    cfg = load_config(config, data_root)
    builds = rpn_samplers(cfg.model.train_cfg.rpn.sampler.to_dict())
    builds['random (A/A copy)'] = builds['random']
    cases = {
        'demo: 8 images x 16,368 anchors': list(
            assigned_images(cfg, 2, stage='rpn')
        ),
        'COCO: 1 image x 268,569 anchors': [coco_scale_image()],
    }
    rows = []
    for case, images in cases.items():
        samplers = {k: TASK_UTILS.build(v) for k, v in builds.items()}
        times = {k: [] for k in samplers}
        names = list(samplers)
        for r in range(repeats + 2):  # the first two rounds warm up
            for name in names[r % len(names) :] + names[: r % len(names)]:
                t0 = time.perf_counter()
                for assign, pred, gt in images:
                    samplers[name].sample(assign, pred, gt)
                if r >= 2:
                    times[name].append(time.perf_counter() - t0)
        ref = times['random']
        for name in names:
            if name != 'random':
                lo = paired_ratio(times[name], ref)
                rows.append(
                    (
                        case,
                        f'{name} / random',
                        f'{lo[0]:.2f} [{lo[1]:.2f}, {lo[2]:.2f}]',
                    )
                )
        r = paired_ratio(times['ours'], times['mmdet'])
        rows.append(
            (case, 'ours / mmdet', f'{r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}]')
        )
    print_table(
        'RPN sampling step, time ratios (median of per-round ratios [95% CI])',
        rows,
        header=('case', 'ratio', 'value'),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument(
        '--rpn', action='store_true', help='time the RPN sampling step instead'
    )
    parser.add_argument(
        '--data-root',
        default=None,
        help="the demo data (default: the config's)",
    )
    args = parser.parse_args()
    if args.rpn:
        print(
            f'torch {torch.__version__}, {torch.get_num_threads()} '
            f'threads, {args.repeats} interleaved rounds'
        )
        rpn_step(args.repeats, args.data_root)
        return
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'median of {args.repeats} interleaved repeats'
    )
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
        t_neg = time_ratio(
            {
                'ours': lambda: ours_neg._sample_neg(assign, 384),
                'mmdet': lambda: ref_neg._sample_neg(assign, 384),
            },
            repeats=args.repeats,
            number=number,
        )
        t_pos = time_ratio(
            {
                'ours': lambda: ours_pos._sample_pos(assign, 128),
                'mmdet': lambda: ref_pos._sample_pos(assign, 128),
            },
            repeats=args.repeats,
            number=number,
        )
        rows += [
            (
                f'IoU-balanced negatives, 20k proposals, 384 of 512 '
                f'({number} calls, {caches})',
                f'{t_neg["ours"] / t_neg["mmdet"]:.3f}',
            ),
            (
                f'Instance-balanced positives, 100 gts, 128 of 1000 '
                f'({number} calls, {caches})',
                f'{t_pos["ours"] / t_pos["mmdet"]:.3f}',
            ),
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
        t = time_ratio(
            {
                'ours': lambda s=ours, a=small: s._sample_neg(a, 96),
                'mmdet': lambda s=ref, a=small: s._sample_neg(a, 96),
            },
            repeats=args.repeats,
            number=20,
        )
        rows.append(
            (
                f'IoU-balanced negatives, {n} proposals, 96 of 128',
                f'{t["ours"] / t["mmdet"]:.3f}',
            )
        )
    print_table('Sampling time ratio at smaller sizes (ours / mmdet)', rows)


if __name__ == '__main__':
    main()
