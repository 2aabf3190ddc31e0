"""One validation run of every CUDA path of the package, for the day a GPU
is at hand: one line per check, a JSON summary, exit status 1 on any
failure (2 without CUDA, in one line).

    python .dev_scripts/gpu_check.py [--json docs/gpu_check.json]
        [--only losses samplers bfp e2e] [--device cuda] [--quick]
        [--data-root DIR] [--iters 100]

Sections:

- ``losses``: Balanced L1 (paper and MMDetection-compatible forms) and
  Focal (``gamma``, ``alpha``, index and one-hot targets, ``activated``)
  forward and backward in float32, float16 and bfloat16 (autocast) against
  MMDetection's built-ins (on CUDA its FocalLoss runs mmcv's compiled
  ``sigmoid_focal_loss``) and against a float64 CPU reference written from
  the papers' formulas, with tolerances per dtype; gradcheck in float64;
  the ``nonfinite`` policy under a float16 overflow.
- ``samplers``: the Libra samplers on the device: the same draw twice under
  one seed, the sampled IoU distribution equal to the CPU path's over many
  draws (total variation), no host synchronisation inside
  (``torch.cuda.set_sync_debug_mode('error')``), time against MMDetection's
  samplers at 20k proposals and at RPN scale (268k anchors).
- ``bfp``: BFP's SDPA non-local block against MMDetection's BFP (mmcv's
  ``NonLocal2d``) with MMDetection's state dict, float32 and autocast
  float16 / bfloat16.
- ``e2e``: ``--iters`` iterations of the Libra Faster R-CNN demo with AMP
  (``AmpOptimWrapper``), without and with ALWA, through MMDetection's
  ``tools/train.py``: finite losses; resumed from the middle, bit-identical
  weights at the end; then iteration time against MMDetection's own Libra
  components in one process, interleaved, with an A/A control.

``--device cpu --quick`` runs every section on the CPU at small sizes, the
end-to-end one with the ALWA run only and two timed rounds (the test
suite does, so the script cannot rot); the CUDA-only checks (mmcv's op,
the synchronisation check) are then reported as skipped.
"""

import argparse
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SECTIONS = ('losses', 'samplers', 'bfp', 'e2e')
#: Relative tolerance of a loss value per dtype, against float64.
RTOL = {torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 5e-2}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--only', nargs='+', choices=SECTIONS)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--json', default=None, help='write the summary')
    parser.add_argument('--data-root', default=None)
    parser.add_argument('--iters', type=int, default=100)
    args = parser.parse_args(argv)
    if args.iters < 4 or args.iters % 2:
        parser.error(f'--iters must be even and at least 4, got {args.iters}')
    return args


class Checks:
    """Collects one record per check and prints its line."""

    def __init__(self, device, quick):
        self.device = torch.device(device)
        self.cuda = self.device.type == 'cuda'
        self.quick = quick
        self.records = []

    def check(self, section, name, ok, **info):
        status = 'ok' if ok else 'FAIL'
        self.records.append(
            dict(section=section, name=name, status=status, **info)
        )
        extra = ', '.join(f'{k}={v}' for k, v in info.items())
        print(
            f'{status:5s}{section}: {name}' + (f' ({extra})' if extra else '')
        )

    def skip(self, section, name, why):
        self.records.append(
            dict(section=section, name=name, status='skipped', why=why)
        )
        print(f'skip {section}: {name} ({why})')

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()


def close(a, b, rtol, atol=0.0):
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    err = float(((a - b).abs() - rtol * b.abs()).max()) if a.numel() else 0
    return err <= atol, float((a - b).abs().max()) if a.numel() else 0.0


# -- losses -----------------------------------------------------------------
def focal_reference(logits, onehot, weight, gamma, alpha, activated=False):
    """The focal loss in float64 from Lin et al.: -alpha_t (1 - p_t)^gamma
    log(p_t), summed over the elements times the weight."""
    x = logits.double()
    p = x if activated else x.sigmoid()
    t = onehot.double()
    p_t = p * t + (1 - p) * (1 - t)
    a_t = alpha * t + (1 - alpha) * (1 - t)
    ce = -(
        t * p.clamp_min(1e-300).log()
        + (1 - t) * (1 - p).clamp_min(1e-300).log()
    )
    return (a_t * (1 - p_t).pow(gamma) * ce * weight.double()).sum()


def balanced_l1_reference(diff, alpha, gamma, beta):
    """The Balanced L1 loss in float64 (Pang et al.), scaled to ``beta`` as
    the paper intends: ``beta * L_b(|x| / beta)``, summed."""
    b = math.exp(gamma / alpha) - 1
    x = diff.double().abs() / beta
    inner = alpha / b * (b * x + 1) * torch.log(b * x + 1) - alpha * x
    outer = gamma * x + gamma / b - alpha
    return (beta * torch.where(x < 1, inner, outer)).sum()


def check_losses(c):
    from mmdet.models.losses import BalancedL1Loss as MMBL1
    from mmdet.models.losses import FocalLoss as MMFocal

    from mmdet_libra_ext.models.losses import BalancedL1Loss, FocalLoss

    dev, s = c.device, 'losses'
    n = 2000 if c.quick else 50000
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(n, 4, generator=g) * 1.5
    target = torch.randn(n, 4, generator=g) * 0.2
    for beta, compat in ((1.0, False), (0.11, False), (0.11, True)):
        ours = BalancedL1Loss(beta=beta, mmdet_compat=compat, reduction='sum')
        ref_mm = MMBL1(beta=beta, reduction='sum')
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            p = pred.to(dev).requires_grad_(True)
            with torch.autocast(
                dev.type, dtype=dtype, enabled=dtype != torch.float32
            ):
                loss = ours(p.to(dtype), target.to(dev, dtype))
            loss.backward()
            if compat:
                q = pred.to(dev).requires_grad_(True)
                expected = ref_mm(
                    q.to(dtype).float(), target.to(dev, dtype).float()
                )
                against = 'MMDetection'
            else:
                expected = balanced_l1_reference(
                    pred.to(dtype).double() - target.to(dtype).double(),
                    0.5,
                    1.5,
                    beta,
                )
                against = 'float64 reference'
            ok, err = close(loss, expected, RTOL[dtype])
            ok &= bool(torch.isfinite(p.grad).all())
            c.check(
                s,
                f'BalancedL1 beta={beta} compat={compat} {dtype} vs {against}',
                ok,
                max_abs_err=f'{err:.3g}',
            )
    logits = torch.randn(n // 4, 20, generator=g) * 3
    labels = torch.randint(0, 21, (n // 4,), generator=g)
    onehot = torch.nn.functional.one_hot(labels, 21)[:, :20]
    weight = torch.rand(n // 4, generator=g)
    for gamma, alpha in ((2.0, 0.25), (0.0, 0.5), (1.5, 0.75)):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            outs = {}
            for name, cls in (('ours', FocalLoss), ('MMDetection', MMFocal)):
                x = logits.to(dev).requires_grad_(True)
                loss_fn = cls(gamma=gamma, alpha=alpha, reduction='sum')
                with torch.autocast(
                    dev.type, dtype=dtype, enabled=dtype != torch.float32
                ):
                    loss = loss_fn(x.to(dtype), labels.to(dev), weight.to(dev))
                loss.backward()
                outs[name] = (loss.float(), x.grad)
            ref = focal_reference(
                logits.to(dtype), onehot, weight[:, None], gamma, alpha
            )
            ok, err = close(outs['ours'][0], ref, RTOL[dtype])
            ok2, err2 = close(
                outs['ours'][0], outs['MMDetection'][0], RTOL[dtype]
            )
            gok, gerr = close(
                outs['ours'][1],
                outs['MMDetection'][1],
                10 * RTOL[dtype],
                atol=1e-6,
            )
            op = 'mmcv CUDA op' if c.cuda else 'Python form'
            c.check(
                s,
                f'Focal gamma={gamma} alpha={alpha} {dtype}: vs '
                f'float64 and vs MMDetection ({op}), gradients',
                ok and ok2 and gok,
                err_ref=f'{err:.3g}',
                err_mmdet=f'{err2:.3g}',
                grad_err=f'{gerr:.3g}',
            )
    # activated=True (probabilities), one-hot targets.
    prob = logits.sigmoid().to(dev)
    ours = FocalLoss(activated=True, reduction='sum')(prob, onehot.to(dev))
    theirs = MMFocal(activated=True, reduction='sum')(prob, onehot.to(dev))
    ref = focal_reference(prob.cpu(), onehot, torch.ones(1), 2.0, 0.25, True)
    ok, err = close(ours, ref, 1e-4)
    ok2, _ = close(ours, theirs, 1e-4)
    c.check(
        s,
        'Focal activated=True, one-hot targets',
        ok and ok2,
        max_abs_err=f'{err:.3g}',
    )
    x = torch.randn(12, 5, dtype=torch.float64, device=dev)
    c.check(
        s,
        'Focal gradcheck float64',
        torch.autograd.gradcheck(
            lambda z: FocalLoss(reduction='sum')(
                z, labels[:12].clamp(max=5).to(dev)
            ),
            (x.requires_grad_(),),
        ),
    )
    x = torch.randn(30, 4, dtype=torch.float64, device=dev) * 0.3
    c.check(
        s,
        'BalancedL1 gradcheck float64',
        torch.autograd.gradcheck(
            lambda z: BalancedL1Loss(beta=0.11, reduction='sum')(
                z, torch.zeros_like(z)
            ),
            (x.requires_grad_(),),
            eps=1e-7,
            atol=1e-5,
        ),
    )
    # A float16 overflow: the prediction holds inf.
    bad = torch.full((8, 4), 70000.0).half().to(dev)  # inf in float16
    for mode in ('raise', 'skip', 'propagate'):
        p = bad.clone().requires_grad_(True)
        loss_fn = BalancedL1Loss(nonfinite=mode)
        try:
            loss = loss_fn(p, torch.zeros_like(p))
            loss.backward()
            value = float(loss.detach())
            got = (
                'zero'
                if value == 0 and bool(torch.isfinite(p.grad).all())
                else 'non-finite'
                if not math.isfinite(value)
                else 'finite'
            )
        except FloatingPointError:
            got = 'raised'
        want = dict(raise_='raised', skip='zero', propagate='non-finite')
        c.check(
            s,
            f"nonfinite='{mode}' under a float16 overflow",
            got == want[mode if mode != 'raise' else 'raise_'],
            got=got,
        )


# -- samplers ---------------------------------------------------------------
def _libra_sampler(ours, num):
    prefix = 'mmdet_libra_ext.' if ours else ''
    return dict(
        type='CombinedSampler',
        num=num,
        pos_fraction=0.25,
        add_gt_as_proposals=False,
        pos_sampler=dict(type=prefix + 'InstanceBalancedPosSampler'),
        neg_sampler=dict(
            type=prefix + 'IoUBalancedNegSampler',
            floor_thr=-1,
            floor_fraction=0,
            num_bins=3,
        ),
    )


def _rcnn_case(n, device, seed=0):
    """``n`` proposals around 30 ground truths, MaxIoU-assigned (0.5)."""
    from mmdet.models.task_modules.assigners import MaxIoUAssigner
    from mmengine.structures import InstanceData

    g = torch.Generator().manual_seed(seed)
    wh = torch.exp(torch.empty(30, 2).uniform_(3, 5.5, generator=g))
    xy = torch.rand(30, 2, generator=g) * (1000 - wh)
    gt = torch.cat([xy, xy + wh], 1)
    k = torch.randint(0, 30, (n,), generator=g)
    jit = 1 + (torch.rand(n, 4, generator=g) - 0.5) * 0.8
    ctr = (gt[k, :2] + gt[k, 2:]) / 2 * jit[:, :2]
    size = (gt[k, 2:] - gt[k, :2]) * jit[:, 2:]
    priors = torch.cat([ctr - size / 2, ctr + size / 2], 1)
    gts = InstanceData(
        bboxes=gt.to(device),
        labels=torch.zeros(30, dtype=torch.long, device=device),
    )
    pred = InstanceData(priors=priors.to(device))
    assign = MaxIoUAssigner(0.5, 0.5, 0.5).assign(pred, gts)
    return assign, pred, gts


def check_samplers(c):
    import copy

    from mmdet.registry import TASK_UTILS

    import mmdet_libra_ext  # noqa: F401
    from mmdet_libra_ext.analysis import balance as B
    from mmdet_libra_ext.analysis.sampling_data import coco_scale_image

    s, dev = 'samplers', c.device
    n = 2000 if c.quick else 20000
    draws = 20 if c.quick else 200
    cases = {'rcnn': _rcnn_case(n, dev)}
    ours = TASK_UTILS.build(_libra_sampler(True, 512))
    a, p, g = cases['rcnn']
    torch.manual_seed(3)
    first = ours.sample(copy.deepcopy(a), p, g)
    torch.manual_seed(3)
    again = ours.sample(copy.deepcopy(a), p, g)
    c.check(
        s,
        'same seed, same draw on the device',
        torch.equal(first.pos_inds, again.pos_inds)
        and torch.equal(first.neg_inds, again.neg_inds),
    )
    edges = torch.linspace(0, 0.5, 11)
    hists = []
    for where in ('cpu', dev):
        a2, p2, g2 = _rcnn_case(n, where)
        taken = []
        torch.manual_seed(0)
        for _ in range(draws):
            r = ours.sample(copy.deepcopy(a2), p2, g2)
            taken.append(a2.max_overlaps[r.neg_inds].cpu())
        hists.append(B.histogram(torch.cat(taken), edges))
    tv = B.total_variation(*hists)
    c.check(
        s,
        f'sampled IoU distribution on {dev} == on CPU over {draws} draws',
        tv < 0.03,
        tv=f'{tv:.4f}',
    )
    if c.cuda:
        neg = TASK_UTILS.build(
            dict(
                type='mmdet_libra_ext.IoUBalancedNegSampler',
                num=512,
                pos_fraction=0.25,
            )
        )
        pos = TASK_UTILS.build(
            dict(
                type='mmdet_libra_ext.InstanceBalancedPosSampler',
                num=512,
                pos_fraction=0.25,
            )
        )
        neg._sample_neg(a, 384)  # MMDetection's first-call state
        torch.cuda.synchronize()
        try:
            torch.cuda.set_sync_debug_mode('error')
            neg._sample_neg(a, 384)
            pos._sample_pos(a, 128)
            ok, why = True, ''
        except RuntimeError as e:
            ok, why = False, str(e).splitlines()[0][:120]
        finally:
            torch.cuda.set_sync_debug_mode('default')
        c.check(
            s,
            'no host synchronisation inside _sample_pos/_sample_neg',
            ok,
            **({'error': why} if why else {}),
        )
    else:
        c.skip(s, 'no host synchronisation inside', 'CUDA only')
    anchors = coco_scale_image(device=dev) if not c.quick else None
    cases_t = {f'{n // 1000}k proposals': cases['rcnn']}
    if anchors is not None:
        cases_t['268k anchors'] = anchors
    for name, (a3, p3, g3) in cases_t.items():
        num = 512 if 'proposals' in name else 256  # the RPN's quota
        samplers = {
            k: TASK_UTILS.build(_libra_sampler(k == 'ours', num))
            for k in ('ours', 'MMDetection')
        }
        times = {k: [] for k in samplers}
        # Warm-up (and MMDetection's first-call state change).
        for smp in samplers.values():
            smp.sample(copy.deepcopy(a3), p3, g3)
        for i in range(5 if c.quick else 30):
            for k in list(samplers) if i % 2 else list(samplers)[::-1]:
                a4 = copy.deepcopy(a3)
                c.sync()
                t = time.perf_counter()
                samplers[k].sample(a4, p3, g3)
                c.sync()
                times[k].append(time.perf_counter() - t)
        ratio = statistics.median(times['ours']) / statistics.median(
            times['MMDetection']
        )
        c.check(
            s,
            f'time at {name}: ours / MMDetection',
            True,
            ratio=f'{ratio:.3f}',
        )


# -- BFP --------------------------------------------------------------------
def check_bfp(c):
    from mmdet.models.necks import BFP as MMBFP

    from mmdet_libra_ext.models.necks import BFP

    s, dev = 'bfp', c.device
    ch = 32 if c.quick else 256
    size = 32 if c.quick else 100
    torch.manual_seed(0)
    ref = MMBFP(ch, 5, refine_level=2, refine_type='non_local').to(dev)
    ref.init_weights()
    ours = BFP(ch, 5, refine_level=2, refine_type='non_local').to(dev)
    missing = ours.load_state_dict(ref.state_dict())
    c.check(
        s,
        "loads MMDetection's state dict",
        not missing.missing_keys and not missing.unexpected_keys,
    )
    feats = [
        torch.randn(2, ch, size // 2**i, size // 2**i, device=dev)
        for i in range(5)
    ]
    with torch.no_grad():
        base = [f.double() for f in ref(feats)]
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        with (
            torch.no_grad(),
            torch.autocast(
                dev.type, dtype=dtype, enabled=dtype != torch.float32
            ),
        ):
            out = ours(feats)
        errs = [
            float((o.double() - b).abs().max() / b.abs().max())
            for o, b in zip(out, base)
        ]
        tol = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 3e-2}[
            dtype
        ]
        c.check(
            s,
            f"SDPA non-local vs mmcv's NonLocal2d, {dtype}",
            max(errs) <= tol,
            max_rel_err=f'{max(errs):.3g}',
        )


# -- end to end -------------------------------------------------------------
def _train_py():
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def _iter_config(base, iters, out_dir):
    """``base`` (a demo config) as an iteration-based run of ``iters``
    iterations: a checkpoint at the middle and at the end, validation at
    the end."""
    path = osp.join(out_dir, 'iter_' + osp.basename(base))
    with open(path, 'w') as f:
        f.write(
            f'_base_ = {base!r}\n'
            "train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
            f'max_iters={iters}, val_interval={iters})\n'
            "train_dataloader = dict(sampler=dict(type='InfiniteSampler', "
            'shuffle=True), batch_size=4)\n'
            "param_scheduler = [dict(type='LinearLR', start_factor=0.1, "
            f'by_epoch=False, begin=0, end={max(2, iters // 5)})]\n'
            'default_hooks = dict(logger=dict(interval=1), checkpoint=dict('
            f'by_epoch=False, interval={iters // 2}, max_keep_ckpts=-1))\n'
            'log_processor = dict(by_epoch=False)\n'
            'randomness = dict(seed=0, deterministic=True)\n'
        )
    return path


def _train(config, work, data_root, c, resume=None):
    opts = [
        f'{split}_dataloader.dataset.data_root={data_root}'
        for split in ('train', 'val', 'test')
    ] + [
        f'val_evaluator.ann_file={data_root}annotations/instances_val.json',
        f'test_evaluator.ann_file={data_root}annotations/instances_val.json',
    ]
    cmd = [sys.executable, _train_py(), config, '--work-dir', work]
    if c.cuda:
        cmd.append('--amp')
    if resume:
        cmd += ['--resume', resume]
    env = dict(os.environ, CUBLAS_WORKSPACE_CONFIG=':4096:8')
    return subprocess.run(
        cmd + ['--cfg-options'] + opts,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )


def _losses_finite(work):
    import glob

    ok, n = True, 0
    for f in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')):
        for line in open(f):
            r = json.loads(line)
            if 'loss' in r:
                n += 1
                ok &= all(
                    math.isfinite(v)
                    for k, v in r.items()
                    if k.startswith('loss')
                )
    return ok and n > 0


def check_e2e(c, data_root, iters):
    s = 'e2e'
    demo = osp.join(ROOT, 'configs', 'demo')
    tmp = tempfile.mkdtemp(prefix='gpu_check_')
    if data_root is None:
        from mmdet_libra_ext.datasets.make_shapes import make_shapes

        data_root = osp.join(tmp, 'shapes') + '/'
        make_shapes(data_root, num_train=64, num_val=8, seed=0)
    amp = 'AMP' if c.cuda else 'float32 (no AMP on CPU)'
    # (--quick: the ALWA run alone, which has the Libra components too.)
    names = ('libra-faster-rcnn', 'alwa-libra-faster-rcnn')
    for name in names[1:] if c.quick else names:
        config = _iter_config(
            osp.join(demo, f'{name}_r18_fpn_shapes_demo.py'), iters, tmp
        )
        full = osp.join(tmp, name, 'full')
        t = time.perf_counter()
        out = _train(config, full, data_root, c)
        wall = time.perf_counter() - t
        ok = out.returncode == 0 and _losses_finite(full)
        c.check(
            s,
            f'{name}: {iters} iterations, {amp}, finite losses',
            ok,
            wall_s=f'{wall:.0f}',
            **(
                {}
                if out.returncode == 0
                else {'error': out.stderr.strip().splitlines()[-1][:160]}
            ),
        )
        if not ok:
            continue
        part = osp.join(tmp, name, 'resumed')
        out = _train(
            config,
            part,
            data_root,
            c,
            resume=osp.join(full, f'iter_{iters // 2}.pth'),
        )
        same = False
        if out.returncode == 0:
            a = torch.load(
                osp.join(full, f'iter_{iters}.pth'),
                map_location='cpu',
                weights_only=True,
            )
            b = torch.load(
                osp.join(part, f'iter_{iters}.pth'),
                map_location='cpu',
                weights_only=True,
            )
            same = all(
                torch.equal(a['state_dict'][k], b['state_dict'][k])
                for k in a['state_dict']
            )
        c.check(
            s,
            f'{name}: --resume from iteration {iters // 2}, '
            'bit-identical weights at the end',
            same,
        )
    _e2e_timing(c, data_root)


def _e2e_timing(c, data_root):
    """benchmarks/bench_e2e.py (with AMP on the GPU): the iteration time of
    the Libra demo with this package's components against MMDetection's,
    interleaved in one process, and its A/A control."""
    import re

    # (--quick: two rounds of one iteration, enough to run every part.)
    repeats, iters = ('2', '1') if c.quick else ('30', '3')
    cmd = [
        sys.executable,
        '-m',
        'benchmarks.bench_e2e',
        '--repeats',
        repeats,
        '--iters',
        iters,
        '--data-root',
        data_root,
    ]
    if c.cuda:
        cmd.append('--amp')
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    rows = dict(
        re.findall(
            r'^\| (iteration time, [^|]*?) \| ([^|]+) \|$',
            out.stdout,
            flags=re.M,
        )
    )
    ours = next((v for k, v in rows.items() if 'ours /' in k), None)
    aa = next((v for k, v in rows.items() if 'A/A' in k), None)
    c.check(
        'e2e',
        'iteration time: ours / MMDetection (bench_e2e, interleaved)',
        out.returncode == 0 and ours is not None,
        ratio=ours,
        aa=aa,
        **(
            {}
            if out.returncode == 0
            else {'error': out.stderr.strip().splitlines()[-1][:160]}
        ),
    )


def main(argv=None):
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        print('gpu_check: no CUDA device here; nothing checked')
        sys.exit(2)
    c = Checks(args.device, args.quick)
    name = torch.cuda.get_device_name() if c.cuda else 'CPU'
    print(f'gpu_check on {name}: torch {torch.__version__}')
    t0 = time.perf_counter()
    for section in args.only or SECTIONS:
        try:
            if section == 'losses':
                check_losses(c)
            elif section == 'samplers':
                check_samplers(c)
            elif section == 'bfp':
                check_bfp(c)
            else:
                check_e2e(c, args.data_root, args.iters)
        except Exception as e:  # a section that crashes fails, the rest run
            c.check(
                section,
                'ran',
                False,
                error=f'{type(e).__name__}: '
                f'{str(e).splitlines()[0][:160] if str(e) else ""}',
            )
    failed = [r for r in c.records if r['status'] == 'FAIL']
    summary = dict(
        device=name,
        torch=torch.__version__,
        quick=args.quick,
        seconds=round(time.perf_counter() - t0, 1),
        passed=sum(r['status'] == 'ok' for r in c.records),
        failed=len(failed),
        skipped=sum(r['status'] == 'skipped' for r in c.records),
        checks=c.records,
    )
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(summary, f, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != 'checks'}))
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
