"""The attention core of BFP's non-local block on CUDA: fused
scaled_dot_product_attention(scale=1) against the explicit
matmul/softmax/matmul of mmcv's NonLocal2d (same math), forward+backward,
for the refine level of an 800x1216 input (50x76 positions, 256 channels).

    python .dev_scripts/gpu/bench_cuda_attention.py
"""

import time

import torch
import torch.nn.functional as F


def explicit(q, k, v):
    return torch.matmul(torch.matmul(q, k.transpose(1, 2)).softmax(-1), v)


def fused(q, k, v):
    return F.scaled_dot_product_attention(q, k, v, scale=1.0)


def fused_4d(q, k, v):
    """One explicit head: (N, 1, L, E), the layout the fused kernels take."""
    return F.scaled_dot_product_attention(
        q[:, None], k[:, None], v[:, None], scale=1.0
    )[:, 0]


def bench(fn, q, k, v, reps=50):
    for _ in range(5):
        fn(q, k, v).sum().backward()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(q, k, v).sum().backward()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sorted(times)[reps // 2], torch.cuda.max_memory_allocated()


def main():
    print(torch.__version__, torch.cuda.get_device_name())
    for batch in (1, 2):
        for dtype in (torch.float32, torch.bfloat16):
            q, k, v = (
                torch.randn(
                    batch,
                    50 * 76,
                    256,
                    device='cuda',
                    dtype=dtype,
                    requires_grad=True,
                )
                * 0.05
                for _ in range(3)
            )
            q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
            a = explicit(q, k, v)
            te, me = bench(explicit, q, k, v)
            for name, fn in (('fused 3d', fused), ('fused 4d', fused_4d)):
                tf, mf = bench(fn, q, k, v)
                err = (a - fn(q, k, v)).abs().max().item()
                print(
                    f'batch {batch} {dtype} {name}: fused/explicit time '
                    f'{tf / te:.3f}, peak memory {mf / 2**20:.0f} vs '
                    f'{me / 2**20:.0f} MiB, max |diff| {err:.2e}'
                )


if __name__ == '__main__':
    main()
