"""Mean and standard deviation per variant over seeds, as the markdown
tables the docs quote (``table``)."""

import statistics

from experiments.plans import (
    RPN_METRICS,
    VARIANTS,
    VOC_AP50,
)
from experiments.stats import (
    on_split,
)
from experiments.store import (
    load_results,
)
from mmdet_libra_ext.analysis.work_dir import (
    METRICS,
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
        schedule = (
            f'{epochs} epochs' if epochs else "the configs' own schedule"
        )
        print(
            f'\n{schedule} ({"/".join(map(str, iters))} iterations), '
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
