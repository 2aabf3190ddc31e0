"""CUDA check of the fused losses, the sampler kernels and the resume
hook's seeding, against the same functions on CPU (whose equality with
MMDetection's built-ins the test suite checks), plus gradcheck in float64
on CUDA, autocast, empty input and large logits. Without CUDA it says so in
one line and exits with status 2; the test suite imports it and runs that
path, so it cannot rot.

    python .dev_scripts/gpu/check_cuda_losses.py
"""

import argparse
import sys
import time

import torch

from mmdet_libra_ext.engine.hooks import resumable_randomness_hook as rrh
from mmdet_libra_ext.models.losses import balanced_l1_loss as bl1
from mmdet_libra_ext.models.losses import focal_loss as fl
from mmdet_libra_ext.task_modules.samplers import utils as su


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    return parser.parse_args(argv)


def main(argv=None):
    parse_args(argv)
    if not torch.cuda.is_available():
        print('check_cuda_losses: no CUDA device here; nothing checked')
        sys.exit(2)
    dev = torch.device('cuda')
    print(torch.__version__, torch.cuda.get_device_name())
    failures = []

    def check(name, ok):
        print(('ok   ' if ok else 'FAIL ') + name)
        if not ok:
            failures.append(name)

    g = torch.Generator().manual_seed(0)
    pred = torch.randn(5000, 4, generator=g) * 2
    target = torch.randn(5000, 4, generator=g) * 0.1
    weight = torch.rand(5000, 4, generator=g)
    for beta, compat in ((1.0, False), (0.11, False), (0.11, True)):
        outs = []
        for d in ('cpu', dev):
            p = pred.detach().to(d).clone().requires_grad_()
            loss = bl1.balanced_l1_loss(
                p,
                target.to(d),
                weight.to(d),
                beta=beta,
                mmdet_compat=compat,
                avg_factor=100.0,
            )
            loss.backward()
            outs.append((loss.detach().cpu(), p.grad.cpu()))
        check(
            f'BalancedL1 beta={beta} compat={compat}: CUDA == CPU',
            torch.allclose(outs[0][0], outs[1][0], rtol=1e-5)
            and torch.allclose(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-7),
        )
    x = (
        torch.cat(
            [
                torch.randn(30, dtype=torch.float64) * 0.3,
                torch.tensor(
                    [0.0, 0.11, -0.11, 0.11 * (1 + 1e-6)], dtype=torch.float64
                ),
            ]
        )
        .view(-1, 1)
        .to(dev)
    )
    check(
        'BalancedL1 gradcheck float64 on CUDA',
        torch.autograd.gradcheck(
            lambda p: bl1.balanced_l1_loss(
                p, torch.zeros_like(p), beta=0.11, reduction='sum'
            ),
            (x.requires_grad_(),),
            eps=1e-7,
            atol=1e-5,
        ),
    )
    for dtype in (torch.float16, torch.bfloat16):
        p = pred.detach().to(dev, dtype).clone().requires_grad_()
        with torch.autocast('cuda', dtype=dtype):
            loss = bl1.balanced_l1_loss(p, target.to(dev, dtype))
        loss.backward()
        check(
            f'BalancedL1 autocast {dtype}: float32, finite',
            loss.dtype == torch.float32
            and bool(torch.isfinite(loss))
            and bool(torch.isfinite(p.grad.float()).all()),
        )
    e = torch.zeros(0, 4, device=dev, requires_grad=True)
    loss = bl1.balanced_l1_loss(e, torch.zeros(0, 4, device=dev))
    loss.backward()
    check(
        'BalancedL1 empty input: zero with graph',
        loss.item() == 0 and loss.requires_grad,
    )

    logits = torch.randn(3000, 20, generator=g) * 3
    labels = torch.randint(0, 21, (3000,), generator=g)
    soft = torch.rand(3000, 20, generator=g)
    for tname, tgt in (('index', labels), ('soft', soft)):
        outs = []
        for d in ('cpu', dev):
            xx = logits.detach().to(d).clone().requires_grad_()
            loss = fl.sigmoid_focal_loss(
                xx,
                tgt.to(d),
                torch.rand(3000, generator=g.manual_seed(1)).to(d),
                avg_factor=50.0,
            )
            loss.backward()
            outs.append((loss.detach().cpu(), xx.grad.cpu()))
        check(
            f'Focal {tname} targets: CUDA == CPU',
            torch.allclose(outs[0][0], outs[1][0], rtol=1e-5)
            and torch.allclose(outs[0][1], outs[1][1], rtol=1e-4, atol=1e-7),
        )
    xl = torch.randn(12, 5, dtype=torch.float64, device=dev)
    check(
        'Focal gradcheck float64 on CUDA',
        torch.autograd.gradcheck(
            lambda z: fl.sigmoid_focal_loss(
                z, labels[:12].clamp(max=5).to(dev), reduction='sum'
            ),
            (xl.requires_grad_(),),
        ),
    )
    big = torch.tensor(
        [[100.0, -100.0], [-100.0, 100.0]], device=dev, requires_grad=True
    )
    loss = fl.sigmoid_focal_loss(big, torch.tensor([1, 0], device=dev))
    loss.backward()
    check(
        'Focal |logit| = 100 finite',
        bool(torch.isfinite(loss)) and bool(torch.isfinite(big.grad).all()),
    )
    with torch.autocast('cuda', dtype=torch.float16):
        loss = fl.sigmoid_focal_loss(logits.to(dev).half(), labels.to(dev))
    check(
        'Focal autocast float16: float32, finite',
        loss.dtype == torch.float32 and bool(torch.isfinite(loss)),
    )

    group = torch.randint(0, 6, (20000,), device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    rank = su.rank_within_groups(group, 6, gen)
    ok = True
    for k in range(6):
        r = rank[group == k].sort().values
        ok &= bool(torch.equal(r, torch.arange(r.numel(), device=dev)))
    check('sampler ranks on CUDA: a permutation within every group', ok)
    mask = rank < 10
    sel = su.select(torch.arange(20000, device=dev), mask, int(mask.sum()))
    check(
        'sampler select (nonzero_static) on CUDA',
        sel.numel() == 60 and bool(mask[sel].all()),
    )

    # The resume hook seeds the CUDA generators as torch.manual_seed does.
    rrh.seed_everything(2**63 + 5)
    ours = torch.rand(4, device=dev), torch.randn(4, device=dev)
    torch.manual_seed(2**63 + 5)
    theirs = torch.rand(4, device=dev), torch.randn(4, device=dev)
    check(
        'ResumableRandomnessHook seeds CUDA like torch.manual_seed',
        all(torch.equal(a, b) for a, b in zip(ours, theirs)),
    )

    # Timing: fused Balanced L1 against the same loss written elementwise
    # with autograd (MMDetection's form), 200k x 4, forward + backward.
    p = torch.randn(200_000, 4, device=dev, requires_grad=True)
    t = torch.randn(200_000, 4, device=dev) * 0.1

    def eager(p, t):
        import math

        b = math.e**3 - 1
        d = (p - t).abs()
        return torch.where(
            d < 1,
            0.5 / b * (b * d + 1) * torch.log(b * d + 1) - 0.5 * d,
            1.5 * d + 1.5 / b - 0.5,
        ).mean()

    def bench(fn):
        for _ in range(5):
            fn(p, t).backward()
        torch.cuda.synchronize()
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            fn(p, t).backward()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]

    fused = bench(lambda a, b: bl1.balanced_l1_loss(a, b))
    plain = bench(eager)
    print(
        f'CUDA Balanced L1 fwd+bwd 200k x 4: fused / elementwise = '
        f'{fused / plain:.3f}'
    )
    print('FAILURES: ' + ', '.join(failures) if failures else 'ALL OK')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
