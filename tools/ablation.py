"""The evidence tables: each Libra component alone, all three, ALWA, and
MMDetection's own Libra components, several seeds, in two regimes: the demo
(from scratch on the embedded ``shapes`` data, AdamW, cosine) and the
transfer recipe (configs/transfer/: pretrained backbone, SGD with step
decay, fine-tuned on the ``crowded`` data).

    python tools/ablation.py run [--variants ...] [--seeds 0 1 2]
        [--epochs N] [--jobs 2] [--results docs/ablation/results.json]
    python tools/ablation.py run --plan transfer|transfer-losses [--jobs 2]
    python tools/ablation.py run --plan rpn|alwa-demo --epochs 6 [--jobs 2]
    python tools/ablation.py run --plan bccd [--data-root BCCD/] [--jobs 2]
    python tools/ablation.py test VARIANT [VARIANT ...] [--split val|test]
        [--tta]
    python tools/ablation.py table [--split val|test|val-tta|test-tta]
    python tools/ablation.py compare VARIANT_A VARIANT_B [--metric bbox_mAP]
        [--split val|test|val-tta|test-tta] [--split-b SPLIT]

``run`` trains every (variant, seed) with MMDetection's tools/train.py and
appends one record per finished run to the results file (runs already there
are skipped, so an interrupted ablation continues where it stopped). It
makes what the variants need first: the datasets, and for the transfer
variants the pretrained backbone (tools/pretrain_backbone.py, cached).
``--plan NAME`` runs a whole table of :data:`PLANS` (variants, labelled
option rows and their seeds) in the order given there. ALWA runs record the
final and the smallest weight of each pair, so a table shows whether the
method moved at all.
``table`` prints mean and sample standard deviation over the seeds of COCO
box mAP, AP50, AP75 and AP small/medium/large (for the RPN variants, in a
table of their own, proposal recall AR@100/300/1000), and the median
training time per iteration, as Markdown tables. ``compare`` tests whether
two variants differ: per-seed differences on the seeds both have, the
paired t-test, the sign test, and Welch's t-test on all seeds of each.
``test`` evaluates the recorded runs of the variants once on their
config's test split (MMDetection's tools/test.py on the run's final
checkpoint) and records those metrics beside the validation ones;
``--split test`` tabulates and compares them. ``test --tta`` does the same
with the config's test-time augmentation (MMDetection's tools/test.py
``--tta``), on test or, to choose a recipe, on val (``--split val``),
recorded as ``test-tta`` / ``val-tta``; ``compare A A --split val-tta
--split-b val`` pairs one variant's runs with and without it.

The BCCD variants (configs/bccd/: real microscopy images read by
MMDetection's VOCDataset, ``--data-root`` the dataset's BCCD/ folder,
default data/BCCD/) train on the train split and are evaluated on val;
their table adds Pascal VOC AP50 (11-point and area) and every class's
AP50 and COCO-style AP. Each BCCD run is also evaluated on val with its
config's test-time augmentation when it finishes (``val-tta``). The recipe
trained on trainval (``BCCD: baseline, trained on trainval``) validates
nothing (val is its training data): its runs are evaluated on test, with
one view and fused (``test``, ``test-tta``), when they finish. Their runs
follow their config's schedule; all other variants share the demo schedule
(``--epochs`` shortens it for all of them alike: the cosine schedule and
evaluation follow). With ``--jobs N``
N trainings run at once with ``cpus // N`` threads each; the time per
iteration is then comparable only between runs with the same jobs/threads,
which the table keeps apart.
"""

import argparse
import concurrent.futures as futures
import contextlib
import datetime
import glob
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
import warnings
from typing import Optional

from pretrain_backbone import data_root_options, schedule_options, train_script
from report import METRICS, VOC_PREFIXES, is_val, load_scalars

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = 'configs'
TRANSFER = 'transfer: '
#: Region proposal networks alone (evaluated by proposal recall).
RPN = 'RPN: '
#: Real imagery: the BCCD configs (configs/bccd/, MMDetection's VOCDataset).
BCCD = 'BCCD: '
#: Where the BCCD configs read the dataset by default (a user's clone of
#: Shenggan/BCCD_Dataset's BCCD/ folder, or a link to it).
BCCD_ROOT = 'data/BCCD/'

#: name -> config under configs/, in the order of the tables.
_demo = 'demo/{}_r18_fpn_shapes_demo.py'.format
_transfer = 'transfer/{}_r18_fpn_crowded-transfer.py'.format
_bccd = 'bccd/{}_r18_fpn_bccd.py'.format
VARIANTS = {
    'baseline': _demo('faster-rcnn'),
    '+ IoU-balanced sampling': _demo('libra-sampler-faster-rcnn'),
    '+ BFP': _demo('libra-bfp-faster-rcnn'),
    '+ Balanced L1': _demo('libra-bl1-faster-rcnn'),
    'Libra (all three)': _demo('libra-faster-rcnn'),
    "Libra, MMDetection's components": _demo('mmdet-libra-faster-rcnn'),
    "Libra, MMDetection's samplers (diagnostic)": _demo(
        'mmdet-sampler-libra-faster-rcnn'
    ),
    'baseline + ALWA': _demo('alwa-faster-rcnn'),
    'Libra + ALWA': _demo('alwa-libra-faster-rcnn'),
    'Libra RetinaNet': _demo('libra-retinanet'),
    'Libra RetinaNet + ALWA': _demo('alwa-libra-retinanet'),
    TRANSFER + 'baseline': _transfer('faster-rcnn'),
    TRANSFER + 'Libra': _transfer('libra-faster-rcnn'),
    TRANSFER + 'baseline + ALWA': _transfer('alwa-faster-rcnn'),
    TRANSFER + 'Libra + ALWA': _transfer('alwa-libra-faster-rcnn'),
    'Libra with Libra RPN': _demo('libra-faster-rcnn-libra-rpn'),
    RPN + 'plain': _demo('rpn'),
    RPN + '+ balanced sampling': _demo('libra-sampler-rpn'),
    RPN + '+ BFP': _demo('libra-bfp-rpn'),
    RPN + '+ Balanced L1': _demo('libra-bl1-rpn'),
    RPN + 'Libra (all three)': _demo('libra-rpn'),
    BCCD + 'baseline': _bccd('faster-rcnn'),
    BCCD + 'Libra': _bccd('libra-faster-rcnn'),
    BCCD + 'Libra with Libra RPN (floor_fraction=0.5)': _bccd(
        'libra-faster-rcnn-libra-rpn'
    ),
    BCCD + 'baseline + ALWA (alwa-rpn-diffstd)': _bccd(
        'alwa-rpn-diffstd-faster-rcnn'
    ),
    BCCD + 'baseline, trained on trainval': (
        'bccd/faster-rcnn_r18_fpn_bccd-trainval.py'
    ),
    BCCD + '+ IoU-balanced sampling': _bccd('libra-sampler-faster-rcnn'),
    BCCD + '+ BFP': _bccd('libra-bfp-faster-rcnn'),
    BCCD + '+ Balanced L1': _bccd('libra-bl1-faster-rcnn'),
}
#: The demo table's variants (the default of ``run``); the diagnostic one,
#: RetinaNet and the transfer variants run when named or planned.
MAIN_VARIANTS = [
    v
    for v in VARIANTS
    if 'diagnostic' not in v
    and 'RetinaNet' not in v
    and not v.startswith((TRANSFER, RPN, BCCD))
    and 'Libra RPN' not in v
]

#: ALWA settings a user would try first (options of the ALWA hook, the
#: second custom hook of every ALWA config).
_ALWA = 'custom_hooks.1.'
_RPN_ONLY = _ALWA + 'pairs=[(loss_rpn_cls,loss_rpn_bbox)]'
_DIFF_STD = _ALWA + 'statistic=diff_std'
ALWA_OPTIONS = {
    'warmup_iters=100': [_ALWA + 'warmup_iters=100'],
    'weight_bounds=(0.5, 1)': [_ALWA + 'weight_bounds=(0.5,1.0)'],
    'weighted_stats=False': [_ALWA + 'weighted_stats=False'],
    'statistic=mean+std': [_ALWA + 'statistic=mean+std'],
    # Noise without trend (see ALWAHook's statistic='diff_std').
    'statistic=diff_std': [_DIFF_STD],
    'statistic=diff_std, weighted_stats=False': [
        _DIFF_STD,
        _ALWA + 'weighted_stats=False',
    ],
    # The RPN's pair only, as the authors' code does (its RoI head ignores
    # the ALWA arguments).
    'pairs=RPN': [_RPN_ONLY],
    'pairs=RPN, statistic=diff_std': [_RPN_ONLY, _DIFF_STD],
}
#: The ALWA setting proposed to avoid the published rule's loss, run with 5
#: seeds in both regimes (configs/alwa/*alwa-rpn-diffstd*).
ALWA_CANDIDATE = 'pairs=RPN, statistic=diff_std'
#: The published rule with its first window after the warm-up: lost
#: nothing measurable in the transfer regime at 3 seeds, so run to 5 and in
#: the demo regime too.
ALWA_WARMUP = 'warmup_iters=100'
#: The RoI head's regression loss (the baseline's is L1).
_BOX = 'model.roi_head.bbox_head.'
LOSSES = {
    'SmoothL1': [
        _BOX + 'loss_bbox.type=SmoothL1Loss',
        _BOX + 'loss_bbox.beta=1.0',
    ],
    'CIoU': [
        _BOX + 'loss_bbox.type=CIoULoss',
        _BOX + 'loss_bbox.loss_weight=10.0',
        _BOX + 'reg_decoded_bbox=True',
    ],
}
FIVE, THREE = [0, 1, 2, 3, 4], [0, 1, 2]


def _candidate_row(variant: str) -> tuple:
    """``variant`` with the candidate ALWA setting, 5 seeds."""
    return (variant, ALWA_CANDIDATE, ALWA_OPTIONS[ALWA_CANDIDATE], FIVE)


#: The RPN's negative sampler, and its option that takes half of the
#: negatives from the zero-IoU floor.
_NEG = 'model.train_cfg.rpn.sampler.neg_sampler.'
FLOOR_HALF = 'floor_fraction=0.5'

#: name -> stages of rows (variant, label or None, cfg options, seeds).
#: Stages run in order, each seed by seed across its rows, so that an
#: interrupted plan leaves paired seeds of the rows a decision needs first.
PLANS = {
    'transfer': [
        [
            (TRANSFER + v, None, [], FIVE)
            for v in ('baseline', 'Libra', 'baseline + ALWA', 'Libra + ALWA')
        ],
        [
            _candidate_row(TRANSFER + v)
            for v in ('baseline + ALWA', 'Libra + ALWA')
        ],
        [
            (
                TRANSFER + 'baseline + ALWA',
                label,
                opts,
                FIVE if label == ALWA_WARMUP else THREE,
            )
            for label, opts in ALWA_OPTIONS.items()
            if label != ALWA_CANDIDATE
        ],
    ],
    # The rest of the transfer table: a control and the regression losses.
    'transfer-losses': [
        # The control that shows the pretraining transfers: the same
        # recipe from random initialisation, nothing frozen.
        [
            (
                TRANSFER + 'baseline',
                'from scratch',
                [
                    'model.backbone.init_cfg=None',
                    'model.backbone.frozen_stages=-1',
                    'model.backbone.norm_eval=False',
                    'model.backbone.norm_cfg.requires_grad=True',
                ],
                THREE,
            )
        ]
        + [
            (TRANSFER + v, loss, opts, THREE)
            for loss, opts in LOSSES.items()
            for v in ('baseline', 'baseline + ALWA')
        ],
    ],
    # The candidate ALWA setting in the demo regime (run with the demo
    # table's --epochs 6), paired with the baseline's seeds, then on Libra.
    'alwa-demo': [
        [('baseline', None, [], FIVE), _candidate_row('baseline + ALWA')],
        [_candidate_row('Libra + ALWA')],
        # The published rule with its first window after the lr warm-up
        # (100 iterations in the demo recipe too).
        [
            (
                'baseline + ALWA',
                ALWA_WARMUP,
                ALWA_OPTIONS[ALWA_WARMUP],
                FIVE,
            )
        ],
    ],
    # The Libra RPN table (run with the demo table's --epochs 6): every RPN
    # component alone and together, Balanced L1's beta, and the Libra
    # Faster R-CNN with and without a Libra RPN (paired with the demo
    # table's Libra rows).
    'rpn': [
        [(v, None, [], FIVE) for v in VARIANTS if v.startswith(RPN)]
        + [
            (
                RPN + '+ Balanced L1',
                'beta=1.0',
                ['model.rpn_head.loss_bbox.beta=1.0'],
                FIVE,
            ),
            ('Libra with Libra RPN', None, [], FIVE),
        ],
        # Why balanced anchor sampling lowers recall here (docs/libra_rpn.md):
        # MMDetection's bins, and half of the negatives from the zero-IoU
        # background that the balanced sampler otherwise never takes.
        [
            (RPN + '+ balanced sampling', label, [_NEG + opt], FIVE)
            for label, opt in (
                ("bin_range='all'", 'bin_range=all'),
                (FLOOR_HALF, FLOOR_HALF),
            )
        ],
        # Half of the negatives from the floor in the whole Libra RPN, alone
        # and inside the Libra Faster R-CNN (9 seeds there: its +0.04 box
        # mAP at 5 seeds is under the demo's single-run noise of 0.06).
        [
            (v, FLOOR_HALF, [_NEG + FLOOR_HALF], seeds)
            for v, seeds in (
                (RPN + 'Libra (all three)', FIVE),
                ('Libra with Libra RPN', list(range(9))),
            )
        ],
    ],
    # Real imagery (configs/bccd/, run without --epochs: the configs' own
    # schedule), evaluated on the val split: Libra, the Libra RPN with half
    # of its negatives from the floor, and the shipped ALWA setting against
    # the baseline; then the recipe (the baseline) trained on trainval and
    # evaluated on test; then each Libra component alone.
    'bccd': [
        [
            (BCCD + v, None, [], FIVE)
            for v in (
                'baseline',
                'Libra',
                'Libra with Libra RPN (floor_fraction=0.5)',
                'baseline + ALWA (alwa-rpn-diffstd)',
            )
        ],
        [(BCCD + 'baseline, trained on trainval', None, [], FIVE)],
        [
            (BCCD + v, None, [], FIVE)
            for v in ('+ IoU-balanced sampling', '+ BFP', '+ Balanced L1')
        ],
    ],
    # Balanced L1 with beta = 0.11 on the demo Libra RetinaNet: this
    # package's continuous-gradient formula against MMDetection's.
    'beta': [
        [
            (
                'Libra RetinaNet',
                f'mmdet_compat={c}',
                [f'model.bbox_head.loss_bbox.mmdet_compat={c}'],
                THREE,
            )
            for c in (False, True)
        ]
    ],
}
#: The RPN variants' metrics: proposal recall averaged over IoU 0.5:0.95.
RPN_METRICS = ('AR@100', 'AR@300', 'AR@1000')
VOC_AP50 = 'voc07/AP50'


def is_transfer(variant: str) -> bool:
    return VARIANTS[variant].startswith('transfer/')


def is_bccd(variant: str) -> bool:
    return VARIANTS[variant].startswith('bccd/')


_CONFIGS: dict = {}


def variant_config(variant: str):
    """A variant's config, read once."""
    if variant not in _CONFIGS:
        from mmengine.config import Config

        path = osp.join(CONFIGS, VARIANTS[variant])
        _CONFIGS[variant] = Config.fromfile(path)
    return _CONFIGS[variant]


def config_epochs(variant: str) -> int:
    """The number of epochs of a variant's config (its own schedule)."""
    return int(variant_config(variant).train_cfg.max_epochs)


def validates(variant: str) -> bool:
    """Whether a variant's training evaluates a validation split at its
    end. A BCCD config trained on trainval has none (val is training data):
    its runs are evaluated on test, as they land."""
    return variant_config(variant).get('val_dataloader') is not None


def default_epochs(variant: str) -> int:
    """Epochs of a run without ``--epochs``: a BCCD config's own schedule,
    the demo table's 12 for every other variant (whatever its config
    says: the recorded tables were run so)."""
    return config_epochs(variant) if is_bccd(variant) else 12


def voc_data_root_options(data_root: str, val: bool = True) -> list:
    """``--cfg-options`` that point a BCCD config at another copy of the
    dataset (VOC layout: Annotations/, ImageSets/Main/, JPEGImages/); the
    val split's only if the config has one (``val``)."""
    root = data_root.rstrip('/') + '/'
    return [
        f'{split}_dataloader.dataset.data_root={root}'
        for split in ('train', 'val', 'test')
        if val or split != 'val'
    ]


def metrics_of(evaluation: dict) -> dict:
    """The recorded metrics of an evaluation's scalars: COCO box mAP (or
    proposal recall) without the ``coco/`` prefix, Pascal VOC mAP (the
    BCCD configs' 11-point and area evaluators) and per-class AP
    (ClasswiseVOCMetric's, CocoMetric's with ``classwise=True``)."""
    metrics = RPN_METRICS if 'coco/AR@100' in evaluation else METRICS
    out = {m: evaluation[f'coco/{m}'] for m in metrics}
    out.update(
        (k, v)
        for k, v in evaluation.items()
        if k.startswith(VOC_PREFIXES)
        or (k.startswith('coco/') and k.endswith('_precision'))
    )
    return out


def read_run(work_dir: str, validated: bool = True) -> dict:
    """Final COCO metrics (of a run that ``validated``) and the median time
    per iteration of a run."""
    records = load_scalars(work_dir)
    val = [r for r in records if is_val(r)]
    train = [r for r in records if 'loss' in r and 'time' in r]
    if (validated and not val) or not train:
        raise RuntimeError(f'{work_dir}: no evaluation or training records')
    times = [r['time'] for r in train[len(train) // 10 :]]
    out = metrics_of(val[-1]) if validated else {}
    out['s_per_iter'] = statistics.median(times)
    out['iters'] = train[-1]['iter']
    weights = sorted(
        k for k in train[-1] if k.startswith('alwa_') and k.endswith('_weight')
    )
    if weights:
        out['alwa_final'] = {k: train[-1][k] for k in weights}
        out['alwa_min'] = {
            k: min(r[k] for r in train if k in r) for k in weights
        }
    return out


def load_results(path: str) -> list:
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return []


def save_results(path: str, results: list) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def labelled(variant: str, label: Optional[str]) -> str:
    """The name a run of ``variant`` is recorded under."""
    return f'{variant} [{label}]' if label else variant


def run_one(
    variant,
    seed,
    epochs,
    threads,
    out_dir,
    data_root,
    cfg_options=(),
    label=None,
    pretrained=None,
):
    config = osp.join(CONFIGS, VARIANTS[variant])
    tag = osp.splitext(osp.basename(VARIANTS[variant]))[0]
    if label:
        tag += '_' + re.sub(r'[^A-Za-z0-9.=-]+', '_', label)
    work = osp.join(out_dir, f'{tag}_e{epochs}', f'seed{seed}')
    opts = [f'randomness.seed={seed}'] + schedule_options(
        epochs, is_transfer(variant)
    )
    if data_root:
        opts += (
            voc_data_root_options(data_root, validates(variant))
            if is_bccd(variant)
            else data_root_options(data_root)
        )
    if pretrained and is_transfer(variant):
        opts.append(f'model.backbone.init_cfg.checkpoint={pretrained}')
    # A checkpoint every epoch (only the newest kept) so that a stopped
    # plan resumes its runs where they were: resume is exact, so the
    # result is the uninterrupted run's.
    opts += [
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1',
    ]
    opts += list(cfg_options)
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads)
    )
    cmd = [
        sys.executable,
        train_script(),
        config,
        '--work-dir',
        work,
        '--cfg-options',
    ] + opts
    resume = osp.isfile(osp.join(work, 'last_checkpoint'))
    if resume:
        cmd.append('--resume')
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    with open(osp.join(work, 'train.log'), 'a' if resume else 'w') as log:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if proc.returncode:
        raise RuntimeError(
            f'{variant} seed {seed} failed: see {work}/train.log'
        )
    rec = dict(
        variant=labelled(variant, label),
        config=config,
        work_dir=work,
        seed=seed,
        epochs=epochs,
        threads=threads,
        wall_s=round(time.time() - t0, 1),
        date=datetime.date.today().isoformat(),
    )
    if resume:
        rec['resumed'] = True  # wall_s is the resumed part's
    if cfg_options:
        rec['cfg_options'] = list(cfg_options)
    rec.update(read_run(work, validates(variant)))
    if is_bccd(variant):
        # The BCCD recipe evaluates with test-time augmentation: val with
        # it too, recorded as soon as the run lands; a run trained on
        # trainval, on test once, with one view and with the fusion.
        keys = ['val-tta'] if validates(variant) else ['test', 'test-tta']
        for key in keys:
            rec[key] = test_run(rec, threads, key)
    return rec


def planned_runs(args) -> list:
    """(variant, seed, label, cfg options) of every run asked for."""
    if args.plan:
        return [
            (v, s, label, opts)
            for stage in PLANS[args.plan]
            for s in sorted({s for *_, seeds in stage for s in seeds})
            for v, label, opts, seeds in stage
            if s in seeds
            if args.seeds_given is None or s in args.seeds_given
        ]
    if args.cfg_options and not args.label:
        raise SystemExit(
            '--cfg-options needs a --label: the runs are '
            'recorded as "VARIANT [LABEL]"'
        )
    return [
        (v, s, args.label, args.cfg_options)
        for s in args.seeds
        for v in args.variants
    ]


def prepare(variants, data_root, pretrained=None) -> None:
    """Make the datasets and the pretrained backbone the variants use
    (skipped for a dataset given with --data-root and a backbone given with
    --pretrained)."""
    transfer = any(is_transfer(v) for v in variants)
    bccd = [v for v in variants if is_bccd(v)]
    root = data_root or BCCD_ROOT
    if bccd and not osp.isfile(osp.join(root, 'ImageSets', 'Main', 'val.txt')):
        raise SystemExit(
            f'{bccd[0]} reads the BCCD dataset from {root}, which has no '
            'ImageSets/Main/val.txt: clone github.com/Shenggan/BCCD_Dataset '
            'and give its BCCD/ folder with --data-root (or link it to '
            f'{BCCD_ROOT})'
        )
    if not data_root:
        shapes = [v for v in variants if not is_transfer(v) and not is_bccd(v)]
        for name, needed in (('shapes', shapes), ('crowded', transfer)):
            if needed and not osp.isfile(
                f'data/{name}/annotations/instances_val.json'
            ):
                subprocess.run(
                    [
                        sys.executable,
                        '-m',
                        'mmdet_libra_ext.datasets.make_shapes',
                        f'data/{name}',
                        '--variant',
                        name,
                    ],
                    check=True,
                )
    if transfer and not pretrained:
        subprocess.run(
            [sys.executable, 'tools/pretrain_backbone.py'], check=True
        )


def cmd_run(args) -> None:
    results = load_results(args.results)
    done = {(r['variant'], r['seed'], r['epochs']) for r in results}
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    todo = [
        (v, s, label, opts, epochs)
        for v, s, label, opts in planned_runs(args)
        for epochs in [args.epochs or default_epochs(v)]
        if (labelled(v, label), s, epochs) not in done
    ]
    print(
        f'{len(todo)} runs to do ({len(done)} in {args.results}), '
        f'{args.jobs} at a time with {threads} threads each',
        flush=True,
    )
    prepare({v for v, *_ in todo}, args.data_root, args.pretrained)
    with futures.ThreadPoolExecutor(args.jobs) as pool:
        jobs = {
            pool.submit(
                run_one,
                v,
                s,
                epochs,
                threads,
                args.out,
                args.data_root,
                opts,
                label,
                args.pretrained,
            ): (labelled(v, label), s)
            for v, s, label, opts, epochs in todo
        }
        for job in futures.as_completed(jobs):
            v, s = jobs[job]
            try:
                rec = job.result()
            except RuntimeError as err:
                print(f'FAILED {err}', flush=True)
                continue
            results = load_results(args.results) + [rec]
            save_results(args.results, results)
            alwa = ''.join(
                f', {k} {w:.3f} (min {rec["alwa_min"][k]:.3f})'
                for k, w in rec.get('alwa_final', {}).items()
            )
            score = (
                f'mAP {rec["bbox_mAP"]:.3f}'
                if 'bbox_mAP' in rec
                else f'AR@100 {rec["AR@100"]:.3f}, AR@1000 '
                f'{rec["AR@1000"]:.3f}'
                if 'AR@100' in rec
                else f'test-tta mAP {rec["test-tta"]["bbox_mAP"]:.3f}'
            )
            print(
                f'{v} seed {s}: {score}, {rec["s_per_iter"]:.2f} s/iter{alwa}',
                flush=True,
            )


def _fmt(values, digits=3):
    if len(values) == 1:
        return f'{values[0]:.{digits}f}'
    return (
        f'{statistics.mean(values):.{digits}f} ± '
        f'{statistics.stdev(values):.{digits}f}'
    )


def voc_columns(recs) -> tuple:
    """Keys and headers of a VOC table: AP50 (11-point, area), each class's
    11-point AP50, COCO box mAP and each class's COCO AP."""
    classes = list(
        dict.fromkeys(
            k[len('voc07/') : -len('_AP50')]
            for r in recs
            for k in r
            if k.startswith('voc07/') and k.endswith('_AP50')
        )
    )
    keys = ['voc07/AP50', 'voc12/AP50']
    heads = ['AP50 (11-pt)', 'AP50 (area)']
    keys += [f'voc07/{c}_AP50' for c in classes]
    heads += [f'{c} AP50' for c in classes]
    keys += ['bbox_mAP'] + [f'coco/{c}_precision' for c in classes]
    heads += ['box mAP'] + [f'{c} mAP' for c in classes]
    return keys, heads


def cmd_table(args) -> None:
    results = on_split(load_results(args.results), args.split)
    print(f'Evaluated on the {args.split} split.')
    groups = {}
    for r in results:
        kind = 'rpn' if 'AR@100' in r else 'voc' if VOC_AP50 in r else 'det'
        groups.setdefault((r['epochs'], r['threads'], kind), []).append(r)
    for (epochs, threads, kind), recs in sorted(groups.items()):
        iters = sorted({r['iters'] for r in recs})
        if kind == 'voc':
            metrics, heads = voc_columns(recs)
        else:
            metrics = RPN_METRICS if kind == 'rpn' else METRICS
            heads = (
                RPN_METRICS
                if kind == 'rpn'
                else ('mAP', 'AP50', 'AP75', 'AP_s', 'AP_m', 'AP_l')
            )
        print(
            f'\n{epochs} epochs ({"/".join(map(str, iters))} iterations), '
            f'{threads} threads per run; mean ± sample std over seeds\n'
        )
        print('| variant | seeds | ' + ' | '.join(heads) + ' | s/iter |')
        print('|---' * (len(heads) + 3) + '|')
        names = list(VARIANTS) + [
            r['variant'] for r in recs if r['variant'] not in VARIANTS
        ]
        for v in dict.fromkeys(names):
            rs = [r for r in recs if r['variant'] == v]
            if not rs:
                continue
            cells = [
                _fmt([r[m] for r in rs]) if all(m in r for r in rs) else '-'
                for m in metrics
            ]
            t = statistics.median(r['s_per_iter'] for r in rs)
            seeds = ','.join(
                str(r['seed']) for r in sorted(rs, key=lambda r: r['seed'])
            )
            print(f'| {v} | {seeds} | ' + ' | '.join(cells) + f' | {t:.2f} |')


#: Where ``test`` records an evaluation: the split, ``-tta`` with
#: test-time augmentation (val without it is the training's own).
EVALUATIONS = ('test', 'val-tta', 'test-tta')


def evaluation_key(split: str, tta: bool) -> str:
    key = split + ('-tta' if tta else '')
    if key not in EVALUATIONS:
        raise SystemExit(
            'val without --tta is recorded by the training itself; '
            f'test evaluates {", ".join(EVALUATIONS)}'
        )
    return key


def test_config(rec: dict, config: str, key: str, out_dir: str) -> str:
    """The run's own config copy, made to evaluate ``key``: the val split
    and evaluator in place of the test ones for ``val-tta``; with TTA, the
    variant's ``tta_model`` and ``tta_pipeline`` if the copy predates them
    (MMDetection's tools/test.py would fall back to its own horizontal
    flip). Written to ``out_dir/input/config.py`` (tools/test.py dumps the
    config it ran, the model wrapped in the TTA model, to
    ``out_dir/config.py``); returns its path."""
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if key.startswith('val'):
        cfg.test_dataloader = cfg.val_dataloader
        cfg.test_evaluator = cfg.val_evaluator
    if key.endswith('tta') and 'tta_model' not in cfg:
        variant = re.sub(r' \[.*\]$', '', rec['variant'])
        current = Config.fromfile(osp.join(CONFIGS, VARIANTS[variant]))
        if 'tta_model' not in current:
            raise SystemExit(
                f'{VARIANTS[variant]} has no tta_model / tta_pipeline'
            )
        cfg.tta_model = current.tta_model
        cfg.tta_pipeline = current.tta_pipeline
    path = osp.join(out_dir, 'input', 'config.py')
    os.makedirs(osp.dirname(path), exist_ok=True)
    cfg.dump(path)
    return path


def test_run(rec: dict, threads: int, key: str = 'test') -> dict:
    """A recorded run's final checkpoint evaluated by MMDetection's
    tools/test.py (the run's own config copy: seed, schedule and data root
    as trained) on its config's test split (``key`` ``'test'``), with
    test-time augmentation (``'test-tta'``) or on the val split with it
    (``'val-tta'``); returns the recorded metrics."""
    from report import run_config

    work = rec.get('work_dir')
    if not work or not osp.isdir(work):
        raise SystemExit(
            f'{rec["variant"]} seed {rec["seed"]}: its work dir '
            f'{work!r} is gone (or the record predates work_dir)'
        )
    config, checkpoint = run_config(work)
    # 'test' keeps its folder of before: <work>/test.
    test_dir = osp.join(work, key)
    if key != 'test':
        config = test_config(rec, config, key, test_dir)
    env = dict(
        os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads)
    )
    script = osp.join(osp.dirname(train_script()), 'test.py')
    extra = ['--tta'] if key.endswith('tta') else []
    with open(osp.join(work, f'{key}.log'), 'w') as log:
        proc = subprocess.run(
            [sys.executable, script, config, checkpoint]
            + ['--work-dir', test_dir]
            + extra,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode:
        raise RuntimeError(f'testing {work} failed: see {work}/{key}.log')
    # tools/test.py writes the metrics to TEST_DIR/<timestamp>/<same>.json.
    newest = max(
        glob.glob(osp.join(test_dir, '*', '*.json')), key=osp.getmtime
    )
    with open(newest) as f:
        return metrics_of(json.load(f))


def cmd_test(args) -> None:
    """Evaluate every recorded run of the variants once on the test split
    (or, with TTA, on val or test): runs with that evaluation already are
    skipped."""
    key = evaluation_key(args.split, args.tta)
    if key == 'val-tta':
        for v in args.variants:
            if v in VARIANTS and not validates(v):
                raise SystemExit(
                    f'{v!r} trains on val ({VARIANTS[v]}): it is evaluated '
                    'on test only'
                )
    threads = args.threads or os.cpu_count() or 1
    results = load_results(args.results)
    todo = [
        i
        for i, r in enumerate(results)
        if r['variant'] in args.variants
        and (args.epochs is None or r['epochs'] == args.epochs)
        and key not in r
    ]
    print(f'{len(todo)} runs to evaluate ({key})', flush=True)
    for i in todo:
        rec = results[i]
        metrics = test_run(rec, threads, key)
        # Reread: a plan may be recording runs meanwhile.
        results = load_results(args.results)
        for r in results:
            if (r['variant'], r['seed'], r['epochs']) == (
                rec['variant'],
                rec['seed'],
                rec['epochs'],
            ):
                r[key] = metrics
        save_results(args.results, results)
        voc = VOC_AP50 if VOC_AP50 in metrics else 'bbox_mAP'
        print(
            f'{rec["variant"]} seed {rec["seed"]}: {key} {voc} '
            f'{metrics[voc]:.3f}, box mAP {metrics["bbox_mAP"]:.3f}',
            flush=True,
        )


def on_split(results: list, split: str) -> list:
    """The records with their metrics on ``split``: as recorded (val), or
    those of an evaluation of ``test`` (``test``, ``val-tta``,
    ``test-tta``; only the runs that have it)."""
    if split == 'val':
        # (Not the runs trained on val: they have no val metrics.)
        return [r for r in results if 'bbox_mAP' in r or 'AR@100' in r]
    return [
        dict({k: v for k, v in r.items() if k not in EVALUATIONS}, **r[split])
        for r in results
        if split in r
    ]


def cmd_compare(args) -> None:
    """Each VARIANT_A against VARIANT_B on the same seeds, metric by
    metric: in detail, or (``--rows``) one markdown row each."""
    split_b = args.split_b or args.split
    for a in args.a:
        if (a, args.split) == (args.b, split_b):
            raise SystemExit(
                f'{a!r} on {args.split} against itself: name another '
                'variant, or another evaluation with --split-b'
            )
    everything = load_results(args.results)
    on_a = on_split(everything, args.split)
    on_b = on_split(everything, split_b)
    if args.rows:
        against = args.b if split_b == args.split else f'{args.b} ({split_b})'
        print(f'Minus {against!r}, paired by seed:\n')
        print(
            '| variant | evaluation | metric | seeds | per seed | mean | '
            'paired t, p | sign test |'
        )
        print('|---' * 8 + '|')
    for a in args.a:
        sides = [(a, args.split, on_a), (args.b, split_b, on_b)]
        names = [
            v if args.split == split_b else f'{v} ({split})'
            for v, split, _ in sides
        ]
        epochs = side_epochs(args.epochs, sides)
        for metric in args.metric:
            # (A detector's runs have no proposal recall, an RPN's no box
            # mAP.)
            by = [
                {
                    r['seed']: r[metric]
                    for r in results
                    if r['variant'] == v and r['epochs'] == e and metric in r
                }
                for (v, _, results), e in zip(sides, epochs)
            ]
            for runs, (v, split, _), e in zip(by, sides, epochs):
                if not runs:
                    raise SystemExit(
                        f'no {e}-epoch runs of {v!r} with '
                        f'{metric!r} on {split} in {args.results}'
                    )
            if args.rows:
                print(summary_row(a, args.split, metric, *by))
            else:
                title = ' and '.join(map(str, dict.fromkeys(epochs)))
                print_comparison(f'{metric}, {title} epochs', *names, *by)


def side_epochs(given, sides) -> list:
    """The schedule (epochs) of each side's runs to compare: ``given``
    (``--epochs``) for both; else the one both variants have; else, where
    each variant has runs of one schedule only, each its own (the BCCD
    recipe on trainval: 17 epochs of 73 iterations against the train
    split's 24 of 52)."""
    if given is not None:
        return [given, given]
    both = [
        {r['epochs'] for r in results if r['variant'] == v}
        for v, _, results in sides
    ]
    common = both[0] & both[1]
    if len(common) == 1:
        return [common.pop()] * 2
    if not common and all(len(e) == 1 for e in both):
        return [e.pop() for e in both]
    raise SystemExit(
        f'runs of the variants with epochs {sorted(both[0])} and '
        f'{sorted(both[1])}: choose with --epochs'
    )


#: Paired differences closer together than this are equal: the recorded
#: metrics have three or four decimals.
EQUAL = 1e-9


def spread(values) -> float:
    values = list(values)
    return max(values) - min(values)


@contextlib.contextmanager
def quiet_moments():
    """scipy warns of precision loss where a group's values are all equal
    (one variant's runs that agree to the recorded decimals): its
    variance is 0, as the tests take it. The cases where that leaves no
    test are handled by the callers."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Precision loss', RuntimeWarning)
        yield


def paired_tests(a: dict, b: dict):
    """Seed-paired comparison of ``a`` minus ``b`` (seed -> value): the
    common seeds, their differences, the paired t-test and the sign test
    (wins, non-ties, p). The t-test is None with fewer than 2 seeds, and
    where every difference is the same: a spread of zero gives t = inf
    and p = 0 at any number of seeds, a test of nothing. The sign test is
    None with fewer than 2 seeds."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    if len(seeds) < 2:
        return seeds, diffs, None, None
    t = None
    if spread(diffs) > EQUAL:
        with quiet_moments():
            t = stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds])
    wins = sum(d > 0 for d in diffs)
    ties = sum(d == 0 for d in diffs)
    p_sign = (
        stats.binomtest(wins, len(seeds) - ties).pvalue
        if len(seeds) > ties
        else 1.0
    )
    return seeds, diffs, t, (wins, len(seeds) - ties, p_sign)


def p_text(p: float) -> str:
    """``p = 0.042``, or ``p < 0.001`` where three decimals would read
    0.000."""
    return 'p < 0.001' if p < 0.0005 else f'p = {p:.3f}'


def t_text(seeds, t) -> str:
    """The paired t-test as the tables print it."""
    if t is not None:
        return f't = {t.statistic:.2f}, {p_text(t.pvalue)}'
    return 't undefined (equal differences)' if len(seeds) >= 2 else '-'


def summary_row(name: str, split: str, metric: str, a: dict, b: dict) -> str:
    """One markdown row: the per-seed differences, their mean, the paired
    t-test and the sign test (the docs' comparison tables)."""
    seeds, diffs, t, sign = paired_tests(a, b)
    per_seed = ', '.join(f'{d:+.3f}' for d in diffs)
    mean = f'{statistics.mean(diffs):+.4f}' if diffs else '-'
    st = f'{sign[0]} of {sign[1]}, {p_text(sign[2])}' if sign else '-'
    return (
        f'| {name} | {split} | {metric} | '
        f'{",".join(map(str, seeds))} | {per_seed} | {mean} | '
        f'{t_text(seeds, t)} | {st} |'
    )


def print_comparison(title: str, name_a: str, name_b: str, a, b) -> None:
    """The per-seed differences of ``a`` minus ``b``, the means, the paired
    tests and Welch's test over all seeds."""
    from scipy import stats

    seeds, diffs, t, sign = paired_tests(a, b)
    print(f'{title}: {name_a!r} minus {name_b!r}\n')
    print('| seed | ' + ' | '.join(map(str, seeds)) + ' |')
    print('|---' * (len(seeds) + 1) + '|')
    print('| difference | ' + ' | '.join(f'{d:+.3f}' for d in diffs) + ' |')
    print(
        f'\nmean {statistics.mean(a.values()):.4f} ({len(a)} seeds) '
        f'against {statistics.mean(b.values()):.4f} ({len(b)} seeds)'
    )
    if sign is not None:
        wins, trials, p_sign = sign
        print(
            f'paired ({len(seeds)} seeds): mean difference '
            f'{statistics.mean(diffs):+.4f}, {t_text(seeds, t)}; sign '
            f'test {wins} of {trials} positive, {p_text(p_sign)}'
        )
    if len(a) >= 2 and len(b) >= 2:
        if spread(a.values()) > EQUAL or spread(b.values()) > EQUAL:
            with quiet_moments():
                w = stats.ttest_ind(
                    list(a.values()), list(b.values()), equal_var=False
                )
            welch = f't = {w.statistic:.2f}, {p_text(w.pvalue)}'
        else:
            welch = 't undefined (every value the same within each)'
        print(f'Welch (all seeds): {welch}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='cmd', required=True)
    run = sub.add_parser('run')
    run.add_argument(
        '--variants',
        nargs='+',
        default=list(MAIN_VARIANTS),
        choices=list(VARIANTS),
        metavar='VARIANT',
    )
    run.add_argument(
        '--seeds',
        nargs='+',
        type=int,
        default=None,
        help="default 0 1 2; with --plan: only these of the plan's seeds",
    )
    run.add_argument(
        '--plan',
        choices=list(PLANS),
        default=None,
        help='run a whole table (its variants, option rows and seeds)',
    )
    run.add_argument(
        '--epochs',
        type=int,
        default=None,
        help="every run's schedule in epochs (default: 12; a BCCD "
        "config's own)",
    )
    run.add_argument('--jobs', type=int, default=1)
    run.add_argument('--out', default='work_dirs/ablation')
    run.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='more config overrides for these runs (needs --label)',
    )
    run.add_argument(
        '--label',
        default=None,
        help='recorded after the variant name, e.g. a control '
        'run of the same variant with --cfg-options',
    )
    run.add_argument(
        '--pretrained',
        default=None,
        help="the transfer variants' backbone checkpoint "
        '(default: made by tools/pretrain_backbone.py)',
    )
    run.add_argument(
        '--data-root',
        default=None,
        help='another copy of the dataset (default: the '
        "configs' data/shapes/)",
    )
    table = sub.add_parser('table')
    compare = sub.add_parser('compare')
    compare.add_argument(
        'a', nargs='+', metavar='VARIANT_A', help='one or more variants'
    )
    compare.add_argument('b', metavar='VARIANT_B')
    compare.add_argument(
        '--metric',
        nargs='+',
        default=['bbox_mAP'],
        help=f'keys of the records: {", ".join(METRICS + RPN_METRICS)}, '
        'and for BCCD voc07/AP50, voc12/AP50, voc07/CLASS_AP50, '
        'coco/CLASS_precision (one comparison each)',
    )
    compare.add_argument(
        '--rows',
        action='store_true',
        help='one markdown row per metric (per-seed differences, mean, '
        'paired t-test, sign test), for tables of several variants',
    )
    compare.add_argument(
        '--epochs',
        type=int,
        default=None,
        help='default: the one schedule both variants have',
    )
    test = sub.add_parser('test')
    test.add_argument(
        'variants', nargs='+', choices=list(VARIANTS), metavar='VARIANT'
    )
    test.add_argument('--epochs', type=int, default=None)
    test.add_argument(
        '--split',
        choices=('val', 'test'),
        default='test',
        help='the split to evaluate (val: with --tta only)',
    )
    test.add_argument(
        '--tta',
        action='store_true',
        help="with the config's test-time augmentation (tta_model, "
        "tta_pipeline: MMDetection's tools/test.py --tta)",
    )
    test.add_argument(
        '--threads', type=int, default=None, help='default: every CPU'
    )
    splits = ('val',) + EVALUATIONS
    for p in (table, compare):
        p.add_argument(
            '--split',
            choices=splits,
            default='val',
            help="the runs' evaluation on val (at the end of training), or "
            'one recorded by the test command: on test, with test-time '
            'augmentation on val or test',
        )
    compare.add_argument(
        '--split-b',
        choices=splits,
        default=None,
        help="VARIANT_B's evaluation (default: --split's), e.g. one "
        'variant with and without test-time augmentation',
    )
    for p in (run, table, compare, test):
        p.add_argument(
            '--results', default=osp.join('docs', 'ablation', 'results.json')
        )
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.cmd == 'run':
        args.seeds_given = args.seeds
        args.seeds = args.seeds or [0, 1, 2]
        cmd_run(args)
    elif args.cmd == 'compare':
        cmd_compare(args)
    elif args.cmd == 'test':
        cmd_test(args)
    else:
        cmd_table(args)


if __name__ == '__main__':
    main()
