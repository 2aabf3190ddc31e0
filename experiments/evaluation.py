"""One evaluation of recorded runs on their config's test split, with or
without test-time augmentation (``test``)."""

import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

from experiments.plans import (
    CONFIGS,
    ROOT,
    VARIANTS,
    VOC_AP50,
    validates,
)
from experiments.pretrain_backbone import (
    train_script,
)
from experiments.store import (
    labelled,
    load_results,
    metrics_of,
    save_results,
)

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
    ``out_dir/config.py``); returns its path.

    Always with ``resume = False``: a run resumed by ``tools/train.py
    --resume`` dumps ``resume = True`` into its copy, and tools/test.py
    then resumes the checkpoint instead of loading it. The weights are the
    same, except under mmengine's ``EMAHook`` with test-time augmentation:
    resuming restores the average into a model wrapped once more (the TTA
    model), whose keys do not match, so the views were predicted by the
    initial weights (test AP50 0.000 on a resumed NEON run)."""
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    cfg.resume = False
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
    """A recorded run's final checkpoint (its best on validation where the
    config keeps one) evaluated by MMDetection's
    tools/test.py (the run's own config copy: seed, schedule and data root
    as trained) on its config's test split (``key`` ``'test'``), with
    test-time augmentation (``'test-tta'``) or on the val split with it
    (``'val-tta'``); returns the recorded metrics."""
    from mmdet_libra_ext.analysis.work_dir import run_config

    work = rec.get('work_dir')
    if not work or not osp.isdir(work):
        raise SystemExit(
            f'{rec["variant"]} seed {rec["seed"]}: its work dir '
            f'{work!r} is gone (or the record predates work_dir)'
        )
    # A config that keeps its best checkpoint on validation (save_best): the
    # one chosen on val is the one tested.
    config, checkpoint = run_config(work)
    # 'test' keeps its folder of before: <work>/test.
    test_dir = osp.join(work, key)
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
    skipped, or with ``--again`` evaluated anew."""
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
    names = [labelled(v, getattr(args, 'label', None)) for v in args.variants]
    todo = [
        i
        for i, r in enumerate(results)
        if r['variant'] in names
        and (args.epochs is None or r['epochs'] == args.epochs)
        and (key not in r or args.again)
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
