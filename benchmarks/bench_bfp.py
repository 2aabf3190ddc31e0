"""BFP forward+backward against MMDetection's BFP (same weights, same
process): 256 channels, 5 levels of an 800x1216 input (strides 4..64).

    python -m benchmarks.bench_bfp [--repeats 7] [--batch 1]
"""

import argparse
import math

import torch
from mmdet.models.necks import BFP as MMDetBFP

from benchmarks.common import peak_memory_mb, print_table, time_ratio  # noqa: E402
from mmdet_libra_ext.models.necks import BFP  # noqa: E402

BATCH = 1


def cases(refine_type='non_local', batch=None):
    batch = batch or BATCH
    torch.manual_seed(0)
    sizes = [
        (math.ceil(800 / s), math.ceil(1216 / s)) for s in (4, 8, 16, 32, 64)
    ]
    xs = [torch.randn(batch, 256, h, w, requires_grad=True) for h, w in sizes]
    ref = MMDetBFP(256, 5, 2, refine_type)
    ours = BFP(256, 5, 2, refine_type)
    ours.load_state_dict(ref.state_dict())

    def run(neck):
        def fn():
            for x in xs:
                x.grad = None
            neck.zero_grad(set_to_none=True)
            outs = neck(xs)
            torch.autograd.backward(outs, [torch.ones_like(o) for o in outs])

        return fn

    return {'ours': run(ours), 'mmdet': run(ref)}


def main():
    global BATCH
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--batch', type=int, default=1)
    args = parser.parse_args()
    BATCH = args.batch
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'batch {BATCH}, median of {args.repeats} interleaved repeats'
    )
    rows = []
    for refine_type in ('non_local', 'conv', None):
        t = time_ratio(cases(refine_type), repeats=args.repeats, number=1)
        rows.append(
            (
                f'BFP refine={refine_type}: ours / mmdet',
                f'{t["ours"] / t["mmdet"]:.3f}',
            )
        )
    print_table('Forward+backward time ratio', rows)
    mem = {k: peak_memory_mb(cases, k) for k in ('ours', 'mmdet')}
    print_table(
        'Peak extra memory, refine=non_local (MiB)',
        [('BFP', f'{mem["ours"]:.0f}', f'{mem["mmdet"]:.0f}')],
        header=('case', 'ours', 'mmdet'),
    )


if __name__ == '__main__':
    main()
