"""The balance report's one-page figure: the sample, feature, objective and
class panels of the dictionary
:func:`mmdet_libra_ext.analysis.balance_report.collect` gives."""

import os.path as osp
from typing import Any, Dict

from .balance_summary import fmt


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
        f'class level: imbalance ratio {fmt(c["imbalance_ratio"], ".1f")}'
    )
    ax.legend(fontsize=7)
    fig.suptitle(f'balance report: {osp.basename(report.get("config", ""))}')
    fig.tight_layout()
    return fig
