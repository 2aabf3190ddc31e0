"""The balance report's printed summary, its recommendations and its
one-page figure, from the dictionary
:func:`mmdet_libra_ext.analysis.balance_report.collect` gives.

A recommendation states a reading beside the readings of the datasets this
project has trained on (``balance_reference.json``, written by
``python -m experiments.balance_validation`` from the report's own readings
and the paired-seed gains of ``experiments/results.json``), not a promise.
"""

import json
import math
import os.path as osp
from typing import Any, Dict, List, Optional

#: The readings and measured gains of the datasets trained on.
REFERENCE_FILE = osp.join(osp.dirname(__file__), 'balance_reference.json')

#: MMDetection's own tools for the class level, which Libra and ALWA leave.
CLASS_TOOLS = (
    "MMDetection's SeesawLoss (loss_cls), EQLV2-style reweighting, "
    'ClassBalancedDataset (oversampling by image)'
)


def load_reference(path: str = REFERENCE_FILE) -> Dict[str, Any]:
    """The reference readings (empty without the file)."""
    if not osp.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _f(x: Optional[float], fmt: str = '.3f') -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 'n/a'
    if isinstance(x, float) and math.isinf(x):
        return 'inf'
    return format(x, fmt)


def _pct(x: Optional[float]) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 'n/a'
    return f'{100 * x:.1f}%'


def _beside(
    reference: Dict[str, Any], component: str, key: str, fmt: str = '.3f'
) -> str:
    """``dataset reading (measured gain)`` for each reference dataset where
    the component's gain was measured (docs/balance.md)."""
    parts = []
    for name, ref in reference.get('datasets', {}).items():
        value = ref.get('readings', {}).get(key)
        gain = ref.get('gains', {}).get(component)
        if value is None or gain is None:
            continue
        parts.append(f'{name} {_f(value, fmt)} ({gain:+.3f} box mAP)')
    return '; '.join(parts)


def readings(report: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """The few numbers the recommendations and docs/balance.md compare
    across datasets."""
    st = report['stages']
    final: Dict[str, Any] = next(
        (st[k] for k in ('rcnn', 'head', 'rpn') if k in st), {}
    )
    sampled: Dict[str, Any] = next(
        (
            st[k]['sample_level']
            for k in ('rcnn', 'rpn', 'head')
            if k in st and 'tv_distance' in st[k].get('sample_level', {})
        ),
        {},
    )
    out: Dict[str, Optional[float]] = dict(
        negatives_hard_share=sampled.get('negatives_hard_share'),
        room_to_balance=sampled.get('tv_distance'),
        hard_share_gain=sampled.get('hard_share_gain'),
        top_level_share=final.get('feature_level', {}).get('top_level_share'),
        class_imbalance=report['class_level']['imbalance_ratio'],
    )
    obj = final.get('objective_level', {})
    if obj:
        out['inlier_grad_share'] = obj['config_loss']['inlier_grad_share']
        out['outlier_share'] = obj['config_loss']['outlier_share']
        if 'balanced_l1' in obj:
            out['inlier_grad_share_bl1'] = obj['balanced_l1'][
                'inlier_grad_share'
            ]
    ratios = report.get('model', {}).get('cls_reg_ratio', {})
    if ratios:
        out['cls_reg_ratio'] = max(r['mean'] for r in ratios.values())
    return out


def recommendations(
    report: Dict[str, Any], reference: Optional[Dict[str, Any]] = None
) -> List[str]:
    """One reading per component, beside the reference datasets'."""
    ref = load_reference() if reference is None else reference
    r = readings(report)
    out = []
    if r['room_to_balance'] is not None:
        out.append(
            'IoU-balanced sampling: room to balance '
            f'{_f(r["room_to_balance"])} (total variation between what '
            'random and IoU-balanced sampling take; hard share '
            f'{_pct(r["negatives_hard_share"])} of the negatives). '
            'Trained: ' + (_beside(ref, 'sampling', 'room_to_balance') or '-')
        )
    else:
        out.append(
            'IoU-balanced sampling: this detector samples no negatives '
            '(all priors enter the loss): not applicable; Focal loss is '
            'the one-stage answer to the same imbalance'
        )
    if r['top_level_share'] is not None:
        out.append(
            'BFP: the busiest pyramid level learns '
            f'{_pct(r["top_level_share"])} of the ground truths. Trained: '
            + (_beside(ref, 'bfp', 'top_level_share') or '-')
        )
    if 'inlier_grad_share' in r:
        out.append(
            "Balanced L1: inliers' share of the regression gradient "
            f"{_pct(r['inlier_grad_share'])} under the config's loss, "
            f'{_pct(r.get("inlier_grad_share_bl1"))} under Balanced L1 '
            f'(outliers {_pct(r["outlier_share"])}). Trained: '
            + (_beside(ref, 'balanced_l1', 'inlier_grad_share') or '-')
        )
    if 'cls_reg_ratio' in r:
        out.append(
            'ALWA: classification/regression loss ratio '
            f'{_f(r["cls_reg_ratio"], ".2f")} (the largest pair, mean over '
            'the batches, at the weights read). Trained: '
            + (_beside(ref, 'alwa', 'cls_reg_ratio', '.2f') or '-')
        )
    out.append(
        'class level: imbalance ratio '
        f'{_f(r["class_imbalance"], ".1f")}; neither Libra nor ALWA '
        f'addresses it; see {CLASS_TOOLS}'
    )
    return out


def summary_lines(
    report: Dict[str, Any], reference: Optional[Dict[str, Any]] = None
) -> List[str]:
    """The printed summary."""
    lines = [
        f'balance report: {report.get("config", "")} '
        f'({report["batches"]} batches, {report["images"]} images, '
        f'seed {report["seed"]})'
    ]
    if report.get('proposals'):
        lines.append(f'RoI candidates: {report["proposals"]}')
    for name, st in report['stages'].items():
        lines.append(
            f'[{name}] candidates: {st["candidates"]}, sampler {st["sampler"]}'
        )
        if 'skipped' in st:
            lines.append(f'  skipped: {st["skipped"]}')
            continue
        s = st['sample_level']
        lines.append(
            f'  sample: {s["num_negatives"]} negatives, '
            f'{_pct(s["negatives_hard_share"])} with IoU > {s["hard_iou"]}'
            f' ({_pct(s["negatives_zero_share"])} at 0)'
        )
        if 'tv_distance' in s:
            lines.append(
                f'    taken above {s["hard_iou"]}: random '
                f'{_pct(s["random_hard_share"])}, IoU-balanced '
                f'{_pct(s["balanced_hard_share"])}; room to balance '
                f'{_f(s["tv_distance"])}'
            )
        f = st['feature_level']
        per = ', '.join(
            f'L{i}: {row["count"]} (~{_f(row["median_size"], ".0f")} px)'
            for i, row in enumerate(f['levels'])
        )
        lines.append(f'  feature ({f["assigned_by"]}): {per}')
        if 'anchor_fit' in f:
            a = f['anchor_fit']
            lines.append(
                f'    anchors: best possible recall at IoU {a["thr"]} '
                f'{_pct(a["bpr"])} (mean best IoU '
                f'{_f(a["mean_best_iou"])}; AdaptToDataHook fits them)'
            )
        if f['unassigned_gts']:
            lines.append(
                f'    {f["unassigned_gts"]} ground truths got no positive '
                'prior'
            )
        o = st.get('objective_level')
        if o:
            c = o['config_loss']
            line = (
                f'  objective ({o["errors"]}): {c["type"]}: outliers '
                f"{_pct(c['outlier_share'])}, inliers' gradient share "
                f'{_pct(c["inlier_grad_share"])}, inlier/outlier gradient '
                f'{_f(c["inlier_outlier_grad_ratio"], ".2f")}'
            )
            lines.append(line)
            if 'balanced_l1' in o:
                b = o['balanced_l1']
                lines.append(
                    f"    Balanced L1: inliers' gradient share "
                    f'{_pct(b["inlier_grad_share"])}, inlier/outlier '
                    f'gradient {_f(b["inlier_outlier_grad_ratio"], ".2f")}'
                )
    m = report.get('model')
    if m:
        for k, v in m['cls_reg_ratio'].items():
            lines.append(
                f'[model at {m["weights"]}] {k}: mean {_f(v["mean"], ".2f")}'
                f' (cv {_f(v["cv"], ".2f")})'
            )
        e = m['feature_energy']
        if 'after' in e:
            lines.append(
                '  feature energy per level before BFP '
                + ' '.join(_f(x, '.3g') for x in e['before'])
                + ', after '
                + ' '.join(_f(x, '.3g') for x in e['after'])
            )
    c = report['class_level']
    lines.append(
        f'[class] {c["num_images"]} training images; instances '
        + ', '.join(
            f'{n} {i} ({im} img)'
            for n, i, im in zip(c['classes'], c['instances'], c['images'])
        )
        + f'; imbalance ratio {_f(c["imbalance_ratio"], ".1f")}'
    )
    lines.append('readings (not promises):')
    lines += [f'- {r}' for r in recommendations(report, reference)]
    return lines


def draw_report(report: Dict[str, Any]) -> Any:
    """The one-page figure: sample, feature, objective and class panels."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    ax = axes[0][0]
    for name, st in report['stages'].items():
        s = st.get('sample_level')
        if not s:
            continue
        edges = np.array(s['hist_edges'])
        mid = (edges[1:] + edges[:-1]) / 2
        ax.plot(mid, s['negatives_hist'], '-', label=f'{name}: candidates')
        if 'balanced_hist' in s:
            ax.plot(
                mid,
                s['balanced_hist'],
                '--',
                label=f'{name}: IoU-balanced (room {s["tv_distance"]:.2f})',
            )
    ax.set_yscale('symlog', linthresh=1e-3)
    ax.set_xlabel('IoU of a negative with its best ground truth')
    ax.set_ylabel('share')
    ax.set_title('sample level: negatives (random takes the candidates)')
    ax.legend(fontsize=7)
    ax = axes[0][1]
    width = 0.8 / max(1, len(report['stages']))
    for k, (name, st) in enumerate(report['stages'].items()):
        f = st.get('feature_level')
        if not f:
            continue
        counts = [row['count'] for row in f['levels']]
        x = np.arange(len(counts)) + k * width
        ax.bar(x, counts, width, label=f'{name} ({f["assigned_by"]})')
    ax.set_xlabel('pyramid level (0 = finest)')
    ax.set_ylabel('ground truths')
    ax.set_title('feature level: where the ground truths are learnt')
    ax.legend(fontsize=7)
    ax = axes[1][0]
    bars, labels = [], []
    for name, st in report['stages'].items():
        o = st.get('objective_level')
        if not o:
            continue
        bars.append(o['config_loss']['inlier_grad_share'])
        labels.append(f'{name}: {o["config_loss"]["type"]}')
        if 'balanced_l1' in o:
            bars.append(o['balanced_l1']['inlier_grad_share'])
            labels.append(f'{name}: Balanced L1')
    ratios = report.get('model', {}).get('cls_reg_ratio', {})
    if bars:
        ax.barh(labels, bars)
        ax.set_xlim(0, 1)
        ax.set_xlabel("inliers' share of the regression gradient")
    title = 'objective level'
    if ratios:
        title += '; cls/reg loss ratio ' + ', '.join(
            f'{k.split("/")[0]}: {v["mean"]:.2f}' for k, v in ratios.items()
        )
    ax.set_title(title, fontsize=9)
    ax = axes[1][1]
    c = report['class_level']
    xc = np.arange(len(c['classes']))
    ax.bar(xc - 0.2, c['instances'], 0.4, label='instances')
    ax.bar(xc + 0.2, c['images'], 0.4, label='images')
    ax.set_xticks(xc)
    ax.set_xticklabels(c['classes'], rotation=30, ha='right', fontsize=7)
    ax.set_title(
        f'class level: imbalance ratio {_f(c["imbalance_ratio"], ".1f")}'
    )
    ax.legend(fontsize=7)
    fig.suptitle(f'balance report: {osp.basename(report.get("config", ""))}')
    fig.tight_layout()
    return fig
