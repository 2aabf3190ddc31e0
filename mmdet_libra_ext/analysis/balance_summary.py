"""The balance report's printed summary and its recommendations, from the
dictionary :func:`mmdet_libra_ext.analysis.balance_report.collect` gives.

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


def fmt(x: Optional[float], spec: str = '.3f') -> str:
    """``x`` formatted, ``n/a`` for None or NaN, ``inf`` for infinity."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 'n/a'
    if isinstance(x, float) and math.isinf(x):
        return 'inf'
    return format(x, spec)


def _pct(x: Optional[float]) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 'n/a'
    return f'{100 * x:.1f}%'


def _beside(
    reference: Dict[str, Any], component: str, key: str, spec: str = '.3f'
) -> str:
    """``dataset reading (measured gain)`` for each reference dataset where
    the component's gain was measured (docs/balance.md)."""
    parts = []
    for name, ref in reference.get('datasets', {}).items():
        value = ref.get('readings', {}).get(key)
        gain = ref.get('gains', {}).get(component)
        if value is None or gain is None:
            continue
        parts.append(f'{name} {fmt(value, spec)} ({gain:+.3f} box mAP)')
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
            f'{fmt(r["room_to_balance"])} (total variation between what '
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
            f'{fmt(r["cls_reg_ratio"], ".2f")} (the largest pair, mean over '
            'the batches, at the weights read). Trained: '
            + (_beside(ref, 'alwa', 'cls_reg_ratio', '.2f') or '-')
        )
    out.append(
        'class level: imbalance ratio '
        f'{fmt(r["class_imbalance"], ".1f")}; neither Libra nor ALWA '
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
                f'{fmt(s["tv_distance"])}'
            )
        f = st['feature_level']
        per = ', '.join(
            f'L{i}: {row["count"]} (~{fmt(row["median_size"], ".0f")} px)'
            for i, row in enumerate(f['levels'])
        )
        lines.append(f'  feature ({f["assigned_by"]}): {per}')
        if 'anchor_fit' in f:
            a = f['anchor_fit']
            lines.append(
                f'    anchors: best possible recall at IoU {a["thr"]} '
                f'{_pct(a["bpr"])} (mean best IoU '
                f'{fmt(a["mean_best_iou"])}; fit_to_data fits them)'
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
                f'{fmt(c["inlier_outlier_grad_ratio"], ".2f")}'
            )
            lines.append(line)
            if 'balanced_l1' in o:
                b = o['balanced_l1']
                lines.append(
                    f"    Balanced L1: inliers' gradient share "
                    f'{_pct(b["inlier_grad_share"])}, inlier/outlier '
                    f'gradient {fmt(b["inlier_outlier_grad_ratio"], ".2f")}'
                )
    m = report.get('model')
    if m:
        for k, v in m['cls_reg_ratio'].items():
            lines.append(
                f'[model at {m["weights"]}] {k}: mean {fmt(v["mean"], ".2f")}'
                f' (cv {fmt(v["cv"], ".2f")})'
            )
        e = m['feature_energy']
        if 'after' in e:
            lines.append(
                '  feature energy per level before BFP '
                + ' '.join(fmt(x, '.3g') for x in e['before'])
                + ', after '
                + ' '.join(fmt(x, '.3g') for x in e['after'])
            )
    c = report['class_level']
    lines.append(
        f'[class] {c["num_images"]} training images; instances '
        + ', '.join(
            f'{n} {i} ({im} img)'
            for n, i, im in zip(c['classes'], c['instances'], c['images'])
        )
        + f'; imbalance ratio {fmt(c["imbalance_ratio"], ".1f")}'
    )
    lines.append('readings (not promises):')
    lines += [f'- {r}' for r in recommendations(report, reference)]
    return lines
