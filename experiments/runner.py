"""The runner: trains the planned (variant, seed) runs with MMDetection's
tools/train.py, resumes unfinished ones, records each as it lands."""

import concurrent.futures as futures
import datetime
import os
import os.path as osp
import subprocess
import sys
import time

from experiments.evaluation import (
    test_run,
)
from experiments.imagenet_weights import DEFAULT_OUT as IMAGENET_WEIGHTS
from experiments.plans import (
    BCCD_ROOT,
    CONFIGS,
    PLANS,
    ROOT,
    VARIANTS,
    best_metric,
    dataset_options,
    default_epochs,
    fine_tunes_imagenet,
    is_bccd,
    is_iter_based,
    is_transfer,
    own_data,
    path_slug,
    read_config,
    validates,
    variant_config,
    voc_data_root_options,
    work_tag,
)
from experiments.pretrain_backbone import (
    data_root_options,
    schedule_options,
    train_script,
)
from experiments.store import (
    labelled,
    load_results,
    read_run,
    save_results,
)

#: The file naming the variant a work directory's run belongs to.
OWNER_FILE = 'variant.txt'


def check_owner(work: str, variant: str, resume: bool) -> None:
    """Claim ``work`` for ``variant``, or refuse to resume another
    variant's run there (a run of another variant, or an unclaimed one,
    would be continued and recorded as this one)."""
    path = osp.join(work, OWNER_FILE)
    owner = open(path).read().strip() if osp.isfile(path) else None
    if resume and owner != variant:
        raise RuntimeError(
            f'{work} holds a run of {owner or "an unnamed variant"!s}, not '
            f'of {variant}: move it away to run {variant} there'
        )
    with open(path, 'w') as f:
        f.write(variant + '\n')


#: The config fit_to_data writes into a run's work directory.
FITTED_CONFIG = 'fitted_config.py'


def fits_to_data(config: str) -> bool:
    """Whether ``config`` is a recipe fitted to its data before training
    (it holds ``fit_to_data`` options)."""
    return read_config(config).get('fit_to_data') is not None


def fit_config(config: str, work: str, opts, env) -> str:
    """``config`` with ``opts`` fitted to its training boxes by
    tools/analysis_tools/fit_to_data.py, written once into ``work``;
    returns its path."""
    out = osp.join(work, FITTED_CONFIG)
    if osp.isfile(out):
        return out
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'analysis_tools', 'fit_to_data.py'),
        config,
        '--out',
        out + '.part',
        '--cfg-options',
        *opts,
    ]
    with open(osp.join(work, 'fit.log'), 'w') as log:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    if proc.returncode:
        raise RuntimeError(f'fitting {config} failed: see {work}/fit.log')
    os.replace(out + '.part', out)
    return out


def imagenet_options(variant: str) -> list:
    """The recipe's documented offline switch for a variant that
    fine-tunes the ImageNet MobileNetV2: the converted file
    experiments.imagenet_weights makes (:func:`prepare`)."""
    if not fine_tunes_imagenet(variant):
        return []
    return [f'model.backbone.init_cfg.checkpoint={IMAGENET_WEIGHTS}']


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
    test_once=False,
):
    config = osp.join(CONFIGS, VARIANTS[variant])
    tag = work_tag(variant)
    if label:
        tag += '_' + path_slug(label)
    work = osp.join(out_dir, f'{tag}_e{epochs}', f'seed{seed}')
    iter_based = is_iter_based(variant)
    opts = [f'randomness.seed={seed}']
    if not iter_based:
        opts += schedule_options(epochs, is_transfer(variant))
    if data_root:
        opts += (
            voc_data_root_options(data_root, validates(variant))
            if is_bccd(variant) or own_data(variant)
            else data_root_options(data_root)
        )
    # A dataset other than the config's own: its root and classes.
    opts += [
        o
        for o in dataset_options(variant)
        if not (data_root and '.data_root=' in o)
    ]
    if pretrained and is_transfer(variant):
        opts.append(f'model.backbone.init_cfg.checkpoint={pretrained}')
    opts += imagenet_options(variant)
    # A checkpoint every epoch (only the newest kept) so that a stopped
    # plan resumes its runs where they were: resume is exact, so the
    # result is the uninterrupted run's.
    # (An iteration-based config saves every validation interval, the best
    # checkpoint on validation kept beside the newest.)
    if not iter_based:
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
    os.makedirs(work, exist_ok=True)
    check_owner(work, labelled(variant, label), resume)
    if fits_to_data(config):
        # The recipe fitted to its data first, as a user runs it: the run
        # trains the config fit_to_data writes (kept for a resumed run).
        cmd[2] = fit_config(config, work, opts, env)
    if resume:
        cmd.append('--resume')
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
    rec.update(read_run(work, validates(variant), best_metric(variant)))
    keys = []
    if is_bccd(variant):
        # The BCCD recipe evaluates with test-time augmentation: val with
        # it too, recorded as soon as the run lands; a run trained on
        # trainval, on test once, with one view and with the fusion.
        keys = ['val-tta'] if validates(variant) else ['test', 'test-tta']
    if test_once:
        # A recipe chosen on validation already: its runs are tested once
        # as they land (fused too where the config has test-time
        # augmentation), so that no test evaluation waits on checkpoints
        # a stopped machine may lose.
        tta = variant_config(variant).get('tta_model') is not None
        keys += [k for k in ['test'] + ['test-tta'] * tta if k not in keys]
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
    for v in variants:
        root = (own_data(v) or ('',))[0]
        if (
            root
            and root != BCCD_ROOT
            and not osp.isfile(osp.join(root, 'ImageSets', 'Main', 'val.txt'))
        ):
            raise SystemExit(
                f'{v} reads {root}, which has no ImageSets/Main/val.txt: '
                'lay it out with python -m experiments.own_datasets '
                '(docs/own_dataset.md)'
            )
    bccd = [
        v
        for v in variants
        if (is_bccd(v) and own_data(v) is None)
        or (own_data(v) or ('',))[0] == BCCD_ROOT
    ]
    root = data_root or BCCD_ROOT
    if bccd and not osp.isfile(osp.join(root, 'ImageSets', 'Main', 'val.txt')):
        raise SystemExit(
            f'{bccd[0]} reads the BCCD dataset from {root}, which has no '
            'ImageSets/Main/val.txt: clone github.com/Shenggan/BCCD_Dataset '
            'and give its BCCD/ folder with --data-root (or link it to '
            f'{BCCD_ROOT})'
        )
    if not data_root:
        shapes = [
            v
            for v in variants
            if not is_transfer(v) and not is_bccd(v) and not own_data(v)
        ]
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
    if any(fine_tunes_imagenet(v) for v in variants):
        subprocess.run(
            [sys.executable, '-m', 'experiments.imagenet_weights'],
            check=True,
        )
    if transfer and not pretrained:
        subprocess.run(
            [sys.executable, '-m', 'experiments.pretrain_backbone'],
            check=True,
        )


def cmd_run(args) -> None:
    results = load_results(args.results)
    done = {(r['variant'], r['seed'], r['epochs']) for r in results}
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
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
                args.test_once,
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
            if args.test_once and 'bbox_mAP' in rec:
                score += f', test mAP {rec["test"]["bbox_mAP"]:.3f}'
            print(
                f'{v} seed {s}: {score}, {rec["s_per_iter"]:.2f} s/iter{alwa}',
                flush=True,
            )
