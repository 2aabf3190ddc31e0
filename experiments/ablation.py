"""The evidence tables: each Libra component alone, all three, ALWA, and
MMDetection's own Libra components, several seeds, in two regimes: the demo
(from scratch on the embedded ``shapes`` data, AdamW, cosine) and the
transfer recipe (configs/transfer/: pretrained backbone, SGD with step
decay, fine-tuned on the ``crowded`` data).

    python -m experiments.ablation run [--variants ...] [--seeds 0 1 2]
        [--epochs N] [--jobs 2] [--results experiments/results.json]
    python -m experiments.ablation run --plan transfer|transfer-losses
    python -m experiments.ablation run --plan rpn|alwa-demo --epochs 6
    python -m experiments.ablation run --plan bccd [--data-root BCCD/]
    python -m experiments.ablation run --plan pretrained --test-once
    python -m experiments.ablation test VARIANT [VARIANT ...]
        [--split val|test] [--tta]
    python -m experiments.ablation table [--split val|test|val-tta|test-tta]
    python -m experiments.ablation compare VARIANT_A VARIANT_B
        [--metric bbox_mAP] [--split val|test|val-tta|test-tta]
        [--split-b SPLIT]

(``--jobs N`` with every command that trains.)

``run`` trains every (variant, seed) with MMDetection's tools/train.py and
appends one record per finished run to the results file (runs already there
are skipped, so an interrupted ablation continues where it stopped). It
makes what the variants need first: the datasets, and for the transfer
variants the pretrained backbone (experiments/pretrain_backbone.py, cached).
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
``run --test-once`` does ``test`` (and ``test --tta`` where the config
has test-time augmentation) for each run as it lands: for a recipe
already chosen on validation, whose further seeds are evidence, so that
no test evaluation waits on checkpoints a stopped machine may lose.

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
import os
import os.path as osp

from experiments.evaluation import (
    EVALUATIONS,
    cmd_test,
)
from experiments.plans import (
    MAIN_VARIANTS,
    PLANS,
    ROOT,
    RPN_METRICS,
    VARIANTS,
)
from experiments.runner import (
    cmd_run,
)
from experiments.stats import (
    cmd_compare,
)
from experiments.tables import (
    cmd_table,
)
from mmdet_libra_ext.analysis.work_dir import (
    METRICS,
)


def main(argv=None):
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
    run.add_argument(
        '--threads',
        type=int,
        default=None,
        help="each training's threads (default: every CPU over --jobs; "
        'fewer when another runner shares the machine)',
    )
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
        '(default: made by experiments/pretrain_backbone.py)',
    )
    run.add_argument(
        '--data-root',
        default=None,
        help='another copy of the dataset (default: the '
        "configs' data/shapes/)",
    )
    run.add_argument(
        '--test-once',
        action='store_true',
        help='for a recipe already chosen on validation: each run is '
        "evaluated once on its config's test split as it lands (fused "
        'too where the config has test-time augmentation)',
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
        '--label',
        default=None,
        help='evaluate the runs recorded as "VARIANT [LABEL]"',
    )
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
    test.add_argument(
        '--again',
        action='store_true',
        help='evaluate the runs that have this evaluation too, replacing '
        'it (after a fix of what evaluation runs)',
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
            '--results', default=osp.join('experiments', 'results.json')
        )
    args = parser.parse_args(argv)
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
