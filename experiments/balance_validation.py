"""Does the balance report predict what training measured? Run the report
on every dataset the lab has trained on, beside the paired-seed gains of
``experiments/results.json``, and on a control; print the table of
docs/balance.md and write ``mmdet_libra_ext/analysis/balance_reference.json``
(what the report's recommendations set a reading beside).

    python -m experiments.balance_validation [--batches 8] [--check]

The datasets are generated where missing (``data/shapes``,
``data/crowded``, ``data/balance_control``); BCCD is read at ``data/BCCD``
(``--bccd DIR``). ``--check`` compares with the committed reference file
instead of writing it, and fails on a difference.
"""

import argparse
import json
import os
import os.path as osp
import statistics
import sys

from experiments.stats import paired_tests
from experiments.store import load_results
from mmdet_libra_ext.analysis.balance_summary import REFERENCE_FILE, readings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
RESULTS = osp.join(ROOT, 'experiments', 'results.json')

#: Per dataset: the baseline config the report reads, the data it needs
#: (make_shapes variant or None), and the variants whose gain over the
#: baseline each component's reading is set beside (None: not measured).
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
    'control (one large object)': dict(
        config='configs/demo/faster-rcnn_r18_fpn_shapes_demo.py',
        data=('data/balance_control', 'single'),
        baseline=None,
        gains={},
    ),
}


def gain(results: list, variant: str, baseline: str) -> dict:
    """Mean paired difference of box mAP over the common seeds."""
    by = [
        {
            r['seed']: r['bbox_mAP']
            for r in results
            if r['variant'] == v and 'bbox_mAP' in r
        }
        for v in (variant, baseline)
    ]
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


def run(batches: int, bccd: str) -> dict:
    from mmengine.config import Config

    from mmdet_libra_ext.analysis.balance_report import collect

    results = load_results(RESULTS)
    out = {}
    for name, spec in DATASETS.items():
        root = ensure_data(spec['data'], bccd)
        cfg = Config.fromfile(osp.join(ROOT, spec['config']))
        cfg.train_dataloader.dataset.data_root = root
        report = collect(cfg, batches=batches)
        gains = {
            k: gain(results, v, spec['baseline'])
            for k, v in spec['gains'].items()
        }
        out[name] = dict(
            config=spec['config'],
            readings=readings(report),
            gains={k: round(g['mean'], 4) for k, g in gains.items()},
            gain_detail=gains,
        )
        print(f'{name}: done', file=sys.stderr)
    return dict(
        batches=batches,
        note='readings of the baseline config at initialisation, '
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
