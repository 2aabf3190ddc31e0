"""Does the balance report predict what training measured? Run the report
on every dataset the lab has trained on, beside the paired-seed gains of
``experiments/results.json``, and on a control; print the table of
docs/balance.md and write ``mmdet_libra_ext/analysis/balance_reference.json``
(what the report's recommendations set a reading beside).

    python -m experiments.balance_validation [--batches 8] [--check]

The datasets are generated where missing (``data/shapes``,
``data/crowded``, ``data/balance_control``); BCCD is read at ``data/BCCD``
(``--bccd DIR``). The fine-tuned rows read the own-dataset recipe fitted
to each real dataset the lab prepares (``python -m
experiments.own_datasets``, ``python -m experiments.imagenet_weights``) as
its runs train: ``fit_to_data`` on the lab's options, the ImageNet
backbone loaded. ``--check`` compares with the committed reference file
instead of writing it, and fails on a difference.
"""

import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile

from experiments.plans import (
    BCCD,
    CONFIGS,
    NEON,
    RACCOONS,
    VARIANTS,
    dataset_options,
)
from experiments.runner import fit_config, imagenet_options, prepare
from experiments.stats import paired_tests
from experiments.store import load_results
from mmdet_libra_ext.analysis.balance_summary import REFERENCE_FILE, readings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS = osp.join(ROOT, 'experiments', 'results.json')


def _fine_tuned(prefix: str) -> dict:
    """A real dataset in the regime users train in: the report reads the
    lab's variant ``PREFIX pretrained`` (the own-dataset recipe fitted to
    the data, its ImageNet backbone loaded); the gains are its methods'
    (experiments/plans.py, PRETRAINED_METHODS)."""
    base = prefix + 'pretrained'
    return dict(
        variant=base,
        baseline=base,
        gains=dict(
            sampling=base + ', + IoU-balanced sampling',
            bfp=base + ', + BFP',
            balanced_l1=base + ', + Balanced L1',
            libra=base + ', Libra',
            alwa=base + ', + ALWA',
        ),
    )


#: Per dataset: the baseline config the report reads (or the lab variant
#: whose fitted config it reads), the data it needs (make_shapes variant
#: or None), and the variants whose gain over the baseline each
#: component's reading is set beside (no rows yet: not measured).
DATASETS = {
    'shapes': dict(
        config='configs/demo/faster-rcnn_r18_fpn_shapes_demo.py',
        data=('data/shapes', 'shapes'),
        baseline='baseline',
        gains=dict(
            sampling='+ IoU-balanced sampling',
            bfp='+ BFP',
            balanced_l1='+ Balanced L1',
            libra='Libra (all three)',
            alwa='baseline + ALWA',
        ),
    ),
    'crowded (transfer)': dict(
        config='configs/transfer/faster-rcnn_r18_fpn_crowded-transfer.py',
        data=('data/crowded', 'crowded'),
        baseline='transfer: baseline',
        gains=dict(
            libra='transfer: Libra',
            alwa='transfer: baseline + ALWA',
        ),
    ),
    'BCCD': dict(
        config='configs/bccd/faster-rcnn_r18_fpn_bccd.py',
        data=None,
        baseline='BCCD: baseline',
        gains=dict(
            sampling='BCCD: + IoU-balanced sampling',
            bfp='BCCD: + BFP',
            balanced_l1='BCCD: + Balanced L1',
            libra='BCCD: Libra',
        ),
    ),
    'BCCD (fine-tuned)': _fine_tuned(BCCD),
    'NEON (fine-tuned)': _fine_tuned(NEON),
    'raccoons (fine-tuned)': _fine_tuned(RACCOONS),
    'control (one large object)': dict(
        config='configs/demo/faster-rcnn_r18_fpn_shapes_demo.py',
        data=('data/balance_control', 'single'),
        baseline=None,
        gains={},
    ),
}


def gain(results: list, variant: str, baseline: str):
    """Mean paired difference of box mAP over the common seeds (None
    where the two share no seed yet)."""
    by = [
        {
            r['seed']: r['bbox_mAP']
            for r in results
            if r['variant'] == v and 'bbox_mAP' in r
        }
        for v in (variant, baseline)
    ]
    if not set(by[0]) & set(by[1]):
        return None
    seeds, diffs, t, _ = paired_tests(*by)
    return dict(
        mean=statistics.mean(diffs),
        seeds=len(seeds),
        p=None if t is None else float(t.pvalue),
    )


def ensure_data(data, bccd: str) -> str:
    if data is None:
        return bccd.rstrip('/') + '/'
    path, variant = data
    if not osp.exists(osp.join(path, 'annotations', 'instances_train.json')):
        from mmdet_libra_ext.datasets.make_shapes import make_shapes

        kwargs = dict(num_train=64, num_val=8) if variant == 'single' else {}
        make_shapes(path, variant=variant, **kwargs)
    return path.rstrip('/') + '/'


def fitted(variant: str):
    """The config a lab run of ``variant`` trains: its recipe with the
    lab's options (data root, classes, the converted ImageNet backbone)
    fitted to the data by tools/analysis_tools/fit_to_data.py."""
    from mmengine.config import Config

    opts = dataset_options(variant) + imagenet_options(variant)
    with tempfile.TemporaryDirectory() as work:
        path = fit_config(
            osp.join(CONFIGS, VARIANTS[variant]), work, opts, dict(os.environ)
        )
        return Config.fromfile(path)


def run(batches: int, bccd: str) -> dict:
    from mmengine.config import Config

    from mmdet_libra_ext.analysis.balance_report import collect

    results = load_results(RESULTS)
    # The fine-tuned rows' data and ImageNet weights, as the lab makes them.
    prepare([s['variant'] for s in DATASETS.values() if 'variant' in s], None)
    out = {}
    for name, spec in DATASETS.items():
        if 'variant' in spec:
            config = osp.join('configs', VARIANTS[spec['variant']])
            report = collect(
                fitted(spec['variant']), batches=batches, init_weights=True
            )
        else:
            config = spec['config']
            cfg = Config.fromfile(osp.join(ROOT, config))
            cfg.train_dataloader.dataset.data_root = ensure_data(
                spec['data'], bccd
            )
            report = collect(cfg, batches=batches)
        gains = {
            k: gain(results, v, spec['baseline'])
            for k, v in spec['gains'].items()
        }
        out[name] = dict(
            config=config,
            readings=readings(report),
            gains={
                k: None if g is None else round(g['mean'], 4)
                for k, g in gains.items()
            },
            gain_detail=gains,
        )
        print(f'{name}: done', file=sys.stderr)
    return dict(
        batches=batches,
        note='readings of the baseline config at initialisation (the '
        "fine-tuned rows: the config's init_cfg, its ImageNet backbone), "
        'synthetic RoI proposals; gains: box mAP, paired by seed',
        datasets=out,
    )


def _gain(g: dict) -> str:
    """A gain as the table writes it: mean, seeds and the paired t-test's
    p (where the store has one)."""
    p = g.get('p')
    if p is None:
        ps = ''
    elif p < 0.001:
        ps = ', p < 0.001'
    else:
        ps = f', p = {p:.3f}' if p < 0.01 else f', p = {p:.2f}'
    return f'{g["mean"]:+.3f}, {g["seeds"]} seeds{ps}'


def table(ref: dict) -> str:
    cols = [
        ('room_to_balance', 'sampling', 'room to balance (RoI)'),
        ('negatives_hard_share', None, 'negatives IoU > 0.05'),
        ('top_level_share', 'bfp', 'busiest level'),
        ('inlier_grad_share', 'balanced_l1', "inliers' gradient share"),
        ('cls_reg_ratio', 'alwa', 'cls/reg loss ratio'),
        ('class_imbalance', None, 'class imbalance'),
    ]
    head = '| dataset | ' + ' | '.join(c[2] for c in cols) + ' | Libra |'
    lines = [head, '|---' * (len(cols) + 2) + '|']
    # The datasets in the order of DATASETS (the reference file sorts them).
    names = sorted(
        ref['datasets'],
        key=lambda n: (
            list(DATASETS).index(n) if n in DATASETS else len(DATASETS)
        ),
    )
    for name in names:
        d = ref['datasets'][name]
        cells = []
        for key, comp, _ in cols:
            v = d['readings'].get(key)
            s = 'n/a' if v is None else f'{v:.3f}'
            g = d['gain_detail'].get(comp) if comp else None
            if g:
                s += f' ({_gain(g)})'
            cells.append(s)
        lib = d['gain_detail'].get('libra')
        cells.append(_gain(lib) if lib else '-')
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--bccd', default=osp.join(ROOT, 'data', 'BCCD'))
    parser.add_argument('--check', action='store_true')
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    ref = run(args.batches, args.bccd)
    print(table(ref))
    if args.check:
        with open(REFERENCE_FILE) as f:
            old = json.load(f)
        if json.dumps(old, sort_keys=True) != json.dumps(ref, sort_keys=True):
            raise SystemExit(f'{REFERENCE_FILE} differs from this run')
        return
    with open(REFERENCE_FILE, 'w') as f:
        json.dump(ref, f, indent=1, sort_keys=True)
    print(f'written: {REFERENCE_FILE}')


if __name__ == '__main__':
    main()
