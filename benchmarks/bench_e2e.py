"""End-to-end training speed of the demo Libra Faster R-CNN: this package's
components against MMDetection's built-in Libra components in the same
config, interleaved in one process, plus a breakdown of where one training
iteration's time goes, by module.

    python -m benchmarks.bench_e2e [--repeats 30] [--iters 3]
        [--ours CONFIG] [--ref CONFIG]
    python -m benchmarks.bench_e2e --rpn-samplers [CONFIG ...]
    python -m benchmarks.bench_e2e --whole --ours A --ref B --data-root D

``--whole`` compares two detectors of any kind (two recipes: the
own-dataset recipe fine-tuned and from scratch, say): whole iterations
with the A/A control and the per-module profile, no component calls.

Both detectors are built with the same seed (identical initial weights,
identical batches), so the only difference is the four Libra components.
Every timed iteration starts from the same weights and optimizer state
(those after a warm-up iteration per batch), so every round does exactly
the same work.

A copy of MMDetection's detector, timed in the same rounds, shows what two
identical detectors measure: on a shared 2-core machine whole-iteration
ratios scatter by a few percent, more than the components cost. So their
own time is also measured directly: every call they made in these
iterations (BFP, RoI sampler, box loss) is redone alone on the same inputs,
forward and backward, interleaved between the two implementations. Its
share of MMDetection's iteration bounds what any implementation could
gain end to end: with free components the ratio would be ``1 - share``.
"""

import argparse
import collections
import copy
import os
import statistics
import time

import torch

from benchmarks.common import build_training, paired_ratio  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, 'configs', 'demo')


def sync():
    """Wait for the device (CUDA kernels run asynchronously)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def wrap_method(obj, attr, around):
    """Replace the method ``obj.attr`` on this instance by
    ``around(orig, args, kwargs)``; ``del obj.attr`` restores the class's."""
    orig = getattr(obj, attr)

    def wrapper(*args, **kwargs):
        return around(orig, args, kwargs)

    setattr(obj, attr, wrapper)


#: The top-level parts of an iteration's forward pass (the profile's rest,
#: after the neck, is the backward pass and the optimizer step).
RPN_PART = 'RPN head (forward, targets, loss, proposals)'
ROI_PART = 'RoI head (all)'
DENSE_PART = 'dense head (forward, targets, loss)'


class ModuleTimer:
    """Accumulates wall time of selected methods (on a GPU, each timed
    call waits for the device before and after), listed in the order they
    were wrapped (a part before the parts nested in it)."""

    def __init__(self):
        self.total = collections.defaultdict(float)

    def wrap(self, obj, attr, key):
        self.total[key] += 0.0

        def timed(orig, args, kwargs):
            sync()
            t0 = time.perf_counter()
            out = orig(*args, **kwargs)
            sync()
            self.total[key] += time.perf_counter() - t0
            return out

        wrap_method(obj, attr, timed)

    def install(self, model):
        """The parts of a detector's training iteration: a two-stage
        detector's RPN and RoI head, a one-stage detector's dense head.
        Nested parts (the sampler inside the RoI head) are listed
        indented."""
        self.wrap(model.data_preprocessor, 'forward', 'data preprocessor')
        self.wrap(model.backbone, 'forward', 'backbone')
        necks = (
            list(model.neck)
            if isinstance(model.neck, torch.nn.Sequential)
            else [model.neck]
        )
        for neck in necks:
            self.wrap(neck, 'forward', f'neck: {type(neck).__name__}')
        if hasattr(model, 'roi_head'):
            self.wrap(model.rpn_head, 'loss_and_predict', RPN_PART)
            roi = model.roi_head
            self.wrap(roi, 'loss', ROI_PART)
            self.wrap(roi.bbox_sampler, 'sample', '  RoI sampler')
            self.wrap(roi.bbox_assigner, 'assign', '  RoI assigner')
            self.wrap(roi.bbox_roi_extractor, 'forward', '  RoI extractor')
            self.wrap(roi.bbox_head, 'forward', '  bbox head forward')
            self.wrap(roi.bbox_head.loss_bbox, 'forward', '  loss_bbox')
        else:
            head = model.bbox_head
            self.wrap(head, 'loss', DENSE_PART)
            self.wrap(head, 'forward', '  head forward')
            self.wrap(head.loss_cls, 'forward', '  loss_cls')
            self.wrap(head.loss_bbox, 'forward', '  loss_bbox')
        self.wrap(model, 'parse_losses', 'parse losses')


def component_calls(model):
    """Install recorders on a detector's Libra components (BFP, RoI sampler,
    box loss). Every call made until the returned function is called is
    kept as ``(component, prepare, run)``: ``run(prepare())`` repeats that
    call on the same inputs, forward and backward (with all-ones output
    gradients for BFP), ``prepare`` doing the untimed part (fresh leaf
    tensors, a copy of the assign result the sampler adds the ground truth
    to). The function removes the recorders and returns the calls."""
    calls = []
    targets = []

    def record(component, obj, attr, make):

        def recorder(orig, args, kwargs):
            calls.append((component, *make(orig, args, kwargs)))
            return orig(*args, **kwargs)

        wrap_method(obj, attr, recorder)
        targets.append((obj, attr))

    def neck_call(orig, args, kwargs):
        xs = [x.detach() for x in args[0]]

        def run(inputs):
            outs = orig(inputs)
            torch.autograd.backward(outs, [torch.ones_like(o) for o in outs])

        return lambda: [x.clone().requires_grad_() for x in xs], run

    def sampler_call(orig, args, kwargs):
        assign = copy.deepcopy(args[0])
        return (
            lambda: copy.deepcopy(assign),
            lambda a: orig(a, *args[1:], **kwargs),
        )

    def loss_call(orig, args, kwargs):
        pred, rest = args[0].detach(), args[1:]
        return (
            lambda: pred.clone().requires_grad_(),
            lambda p: orig(p, *rest, **kwargs).backward(),
        )

    record('BFP', model.neck[1], 'forward', neck_call)
    record('RoI sampler', model.roi_head.bbox_sampler, 'sample', sampler_call)
    record(
        'box loss', model.roi_head.bbox_head.loss_bbox, 'forward', loss_call
    )

    def finish():
        for obj, attr in targets:
            delattr(obj, attr)  # the class's method again
        return calls

    return finish


def timed_rounds(runs, repeats, iters, copy_of=None):
    """Seconds per training iteration of every run in ``runs`` (name ->
    ``build_training`` result), ``repeats`` interleaved rounds of ``iters``
    iterations each. Returns ``(samples, step)``: the per-round times of
    each run, and ``step(name, batch_index)`` that times one more iteration.

    A warm-up iteration per batch comes first (it also lets MMDetection's
    samplers make their first-call configuration change); its end state is
    every timed iteration's start, so every round does the same work. A run
    named in ``copy_of`` (copy -> original) takes the original's state after
    the warm-up: the A/A control."""
    for model, optim, batches in runs.values():
        for batch in batches:
            model.train_step(batch, optim)
    for name, original in (copy_of or {}).items():
        for i in (0, 1):
            runs[name][i].load_state_dict(runs[original][i].state_dict())
    start = {
        name: (
            copy.deepcopy(model.state_dict()),
            copy.deepcopy(optim.state_dict()),
        )
        for name, (model, optim, _) in runs.items()
    }

    def step(name, batch_index):
        """One training iteration from the common starting state."""
        model, optim, batches = runs[name]
        model.load_state_dict(start[name][0])
        optim.load_state_dict(start[name][1])
        sync()
        t0 = time.perf_counter()
        model.train_step(batches[batch_index], optim)
        sync()
        return time.perf_counter() - t0

    names = list(runs)
    samples = {k: [] for k in names}
    for r in range(repeats):
        # Rotate the order, so no run always follows the same one.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(
                sum(step(name, i) for i in range(iters)) / iters
            )
    return samples, step


def rpn_sampler_rounds(configs, data_root, repeats, iters):
    """Whole training iterations of each config with the RPN sampler it
    names (ours), MMDetection's samplers of the same names, and the stock
    ``RandomSampler`` (twice: the A/A control), printed as ratios to
    ``RandomSampler``'s iteration."""
    from mmdet_libra_ext.analysis import rpn_samplers

    print(
        '\n## Training iteration with the RPN sampler replaced '
        '(median of per-round ratios [95% CI])\n'
    )
    print(
        "| config | ours / random | MMDetection's / random | random "
        "copy / random (A/A) | ours / MMDetection's |\n|---|---|---|---|"
        '---|'
    )
    for config in configs:

        def with_sampler(name):
            def modify(cfg):
                cfg.model.train_cfg.rpn.sampler = rpn_samplers(
                    cfg.model.train_cfg.rpn.sampler.to_dict()
                )[name]

            return modify

        runs = {
            name: build_training(
                config, data_root, iters, modify=with_sampler(kind)
            )
            for name, kind in (
                ('ours', 'ours'),
                ('mmdet', 'mmdet'),
                ('random', 'random'),
                ('copy', 'random'),
            )
        }
        samples, _ = timed_rounds(
            runs, repeats, iters, copy_of={'copy': 'random'}
        )
        cells = [
            fmt_ratio(paired_ratio(samples[a], samples[b]))
            for a, b in (
                ('ours', 'random'),
                ('mmdet', 'random'),
                ('copy', 'random'),
                ('ours', 'mmdet'),
            )
        ]
        print(f'| {os.path.basename(config)} | ' + ' | '.join(cells) + ' |')


def component_shares(runs, step, args, samples, components):
    """The Libra components' own time, their calls of the timed iterations
    redone alone on the same inputs (far less noisy than differences of
    whole iterations): (share of MMDetection's iteration, samples) per
    run and component."""
    calls = {}
    for name in ('ours', 'mmdet'):
        finish = component_calls(runs[name][0])
        for i in range(args.iters):
            step(name, i)
        calls[name] = finish()
    own = {k: {c: [] for c in components} for k in calls}
    for r in range(args.repeats):
        for name in ('ours', 'mmdet') if r % 2 else ('mmdet', 'ours'):
            total = dict.fromkeys(components, 0.0)
            for component, prepare, run in calls[name]:
                inputs = prepare()
                sync()
                t0 = time.perf_counter()
                run(inputs)
                sync()
                total[component] += time.perf_counter() - t0
            total['all'] = sum(total.values())
            for c in components:
                own[name][c].append(total[c] / args.iters)
    it_mmdet = statistics.median(samples['mmdet'])
    share = {
        k: {c: statistics.median(v[c]) / it_mmdet for c in components}
        for k, v in own.items()
    }

    return share, own


def print_profiles(profiles, names):
    """The share of one training iteration by module, of each run."""
    print('\n## Share of one training iteration by module\n')
    print(f'| module | {names[0]} | {names[1]} |\n|---|---|---|')
    keys = list(profiles['ours'])
    for k in profiles['mmdet']:
        if k not in keys:
            keys.append(k)
    for k in keys:
        cells = [
            f'{100 * profiles[n].get(k, float("nan")):.1f}%'
            for n in ('ours', 'mmdet')
        ]
        print(f'| {k} | {cells[0]} | {cells[1]} |')


def fmt_ratio(r):
    """``median [lo, hi]`` of :func:`common.paired_ratio`."""
    return f'{r[0]:.3f} [{r[1]:.3f}, {r[2]:.3f}]'


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument(
        '--iters',
        type=int,
        default=3,
        help='training iterations per timed round',
    )
    parser.add_argument('--data-root', default='data/shapes/')
    parser.add_argument(
        '--amp',
        action='store_true',
        help="mixed precision (MMDetection's AmpOptimWrapper; on the GPU "
        'where one is present, as the runner places the model)',
    )
    parser.add_argument(
        '--ours',
        default=os.path.join(DEMO, 'libra-faster-rcnn_r18_fpn_shapes_demo.py'),
    )
    parser.add_argument(
        '--ref',
        default=os.path.join(
            DEMO, 'mmdet-libra-faster-rcnn_r18_fpn_shapes_demo.py'
        ),
    )
    parser.add_argument(
        '--whole',
        action='store_true',
        help='time whole iterations of --ours against --ref (any two '
        'detectors), with the A/A control and the per-module profile, '
        'without the Libra components breakdown',
    )
    parser.add_argument(
        '--rpn-samplers',
        nargs='*',
        metavar='CONFIG',
        default=None,
        help='instead: time whole iterations of these configs (default: the '
        'Libra RPN and the Libra Faster R-CNN with a Libra RPN demos) with '
        "our RPN samplers, MMDetection's and RandomSampler",
    )
    args = parser.parse_args(argv)
    if args.rpn_samplers is not None:
        print(
            f'torch {torch.__version__}, {torch.get_num_threads()} '
            f'threads, {args.repeats} interleaved rounds of {args.iters} '
            f'iterations'
        )
        rpn_sampler_rounds(
            args.rpn_samplers
            or [
                os.path.join(DEMO, 'libra-rpn_r18_fpn_shapes_demo.py'),
                os.path.join(
                    DEMO, 'libra-faster-rcnn-libra-rpn_r18_fpn_shapes_demo.py'
                ),
            ],
            args.data_root,
            args.repeats,
            args.iters,
        )
        return

    def amp(cfg):
        if args.amp:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'

    runs = {}
    for name, cfg in (('ours', args.ours), ('mmdet', args.ref)):
        runs[name] = build_training(
            cfg, args.data_root, args.iters, modify=amp
        )
    runs['copy'] = build_training(
        args.ref, args.data_root, args.iters, modify=amp
    )

    samples, step = timed_rounds(
        runs, args.repeats, args.iters, copy_of={'copy': 'mmdet'}
    )
    ratio = paired_ratio(samples['ours'], samples['mmdet'])
    aa_ratio = paired_ratio(samples['copy'], samples['mmdet'])

    # The components' own time: their calls of the same iterations, redone
    # alone on the same inputs (far less noisy than differences of whole
    # iterations).
    share, own = {}, {}
    components = ('BFP', 'RoI sampler', 'box loss', 'all')
    if not args.whole:
        share, own = component_shares(runs, step, args, samples, components)

    # Profile: the same iterations once more, with per-module timers.
    profiles = {}
    for name in ('ours', 'mmdet'):
        model, optim, batches = runs[name]
        timer = ModuleTimer()
        timer.install(model)
        sync()
        t0 = time.perf_counter()
        for _ in range(2):
            for batch in batches:
                model.train_step(batch, optim)
        sync()
        wall = time.perf_counter() - t0
        fwd = (
            'data preprocessor',
            'backbone',
            RPN_PART,
            ROI_PART,
            DENSE_PART,
            'parse losses',
        )
        parts = dict(timer.total)
        parts['backward + optimizer step'] = wall - sum(
            v for k, v in parts.items() if k in fwd or k.startswith('neck')
        )
        profiles[name] = {k: v / wall for k, v in parts.items()}

    device = next(runs['ours'][0].parameters()).device
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'{device}{", AMP" if args.amp else ""}, '
        f'{args.repeats} interleaved rounds of {args.iters} iterations '
        f'(batch {len(runs["ours"][2][0]["inputs"])})'
    )
    print('\n| measure | value |\n|---|---|')
    if args.whole:
        print(
            f'| iteration time, {args.ours} / {args.ref} (median of '
            f'per-round ratios [95% CI]) | {fmt_ratio(ratio)} |'
        )
        print(
            f'| iteration time, a second copy of {args.ref} / itself (A/A: '
            f'the noise of this measure) | {fmt_ratio(aa_ratio)} |'
        )
        print_profiles(profiles, ('--ours', '--ref'))
        return
    print(
        f'| iteration time, ours / MMDetection components (median of '
        f'per-round ratios [95% CI]) | {fmt_ratio(ratio)} |'
    )
    print(
        f"| iteration time, a second copy of MMDetection's detector / "
        f"MMDetection's (A/A: the noise of this measure) | "
        f'{fmt_ratio(aa_ratio)} |'
    )
    print(
        f'| best ratio any implementation of the components can give '
        f"(1 - the share of MMDetection's below) | "
        f'{1 - share["mmdet"]["all"]:.3f} |'
    )
    print(
        '\n## The components alone: share of an iteration with '
        "MMDetection's components (forward + backward)\n"
    )
    print(
        "| component | ours | MMDetection's | ours / MMDetection's "
        '[95% CI] |\n|---|---|---|---|'
    )
    for c in components:
        print(
            f'| {c} | {100 * share["ours"][c]:.2f}% | '
            f'{100 * share["mmdet"][c]:.2f}% | '
            f'{fmt_ratio(paired_ratio(own["ours"][c], own["mmdet"][c]))} |'
        )
    print_profiles(profiles, ('ours', 'MMDetection components'))


if __name__ == '__main__':
    main()
