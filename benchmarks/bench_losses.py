"""Balanced L1 and Focal loss: forward+backward time against MMDetection's
built-ins (and F.l1_loss, the floor of one elementwise pass) in one process.

    python -m benchmarks.bench_losses [--repeats 15]
"""

import argparse

import torch
import torch.nn.functional as F
from mmdet.models.losses import BalancedL1Loss as MMDetBalancedL1Loss
from mmdet.models.losses import FocalLoss as MMDetFocalLoss

from benchmarks.common import peak_memory_mb, print_table, time_ratio  # noqa: E402
from mmdet_libra_ext.models.losses import BalancedL1Loss, FocalLoss  # noqa


def balanced_l1_cases(beta=1.0):
    torch.manual_seed(0)
    pred = torch.randn(200_000, 4, requires_grad=True)
    target = torch.randn(200_000, 4) * 0.1
    weight = torch.rand(200_000, 4)
    ours = BalancedL1Loss(beta=beta)
    ref = MMDetBalancedL1Loss(beta=beta)

    def run(loss_fn):
        def fn():
            pred.grad = None
            loss_fn(pred, target, weight, avg_factor=1000.0).backward()

        return fn

    return {
        'ours': run(ours),
        'mmdet': run(ref),
        'l1_loss': run(lambda p, t, w, avg_factor: F.l1_loss(p, t)),
    }


def focal_cases(activated=False):
    """Index targets and a per-anchor weight; with ``activated``,
    probabilities (TOOD's head) instead of logits."""
    torch.manual_seed(0)
    logits = torch.randn(100_000, 80, requires_grad=True)
    labels = torch.randint(0, 81, (100_000,))
    weight = torch.rand(100_000)
    ours = FocalLoss(activated=activated)
    ref = MMDetFocalLoss(activated=activated)

    def run(loss_fn):
        def fn():
            logits.grad = None
            x = logits.sigmoid() if activated else logits
            loss_fn(x, labels, weight, avg_factor=500.0).backward()

        return fn

    return {'ours': run(ours), 'mmdet': run(ref)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=15)
    args = parser.parse_args()
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'median of {args.repeats} interleaved repeats'
    )
    rows = []
    for beta in (1.0, 0.11):
        t = time_ratio(balanced_l1_cases(beta), repeats=args.repeats)
        rows.append(
            (
                f'BalancedL1 200k x 4, beta={beta}: ours / mmdet',
                f'{t["ours"] / t["mmdet"]:.3f}',
            )
        )
        rows.append(
            (
                f'BalancedL1 200k x 4, beta={beta}: ours / F.l1_loss',
                f'{t["ours"] / t["l1_loss"]:.2f}',
            )
        )
    t = time_ratio(focal_cases(), repeats=max(3, args.repeats // 3), number=1)
    rows.append(
        (
            'Focal 100k x 80: ours / mmdet (CPU path)',
            f'{t["ours"] / t["mmdet"]:.3f}',
        )
    )
    t = time_ratio(
        focal_cases(activated=True),
        repeats=max(3, args.repeats // 3),
        number=1,
    )
    rows.append(
        (
            'Focal 100k x 80, activated=True: ours / mmdet',
            f'{t["ours"] / t["mmdet"]:.3f}',
        )
    )
    print_table('Forward+backward time ratios', rows)
    mem = {k: peak_memory_mb(focal_cases, k) for k in ('ours', 'mmdet')}
    mem_bl1 = {
        k: peak_memory_mb(balanced_l1_cases, k) for k in ('ours', 'mmdet')
    }
    print_table(
        'Peak extra memory of one forward+backward (MiB)',
        [
            ('Focal 100k x 80', f'{mem["ours"]:.0f}', f'{mem["mmdet"]:.0f}'),
            (
                'BalancedL1 200k x 4',
                f'{mem_bl1["ours"]:.0f}',
                f'{mem_bl1["mmdet"]:.0f}',
            ),
        ],
        header=('case', 'ours', 'mmdet'),
    )


if __name__ == '__main__':
    main()
