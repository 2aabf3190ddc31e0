"""The ALWA weight traces of several runs side by side
(``tools/analysis_tools/report.py --traces``), and the figure writer the
report's drawings share."""

import os
import os.path as osp
from typing import Any, List, Optional

from .work_dir import load_scalars


def save_figure(fig: Any, out: str, what: str) -> None:
    """Lay out, write (its folder made) and close a figure; say where."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f'{what}: {out}')


def weight_traces(
    work_dirs: List[str], labels: Optional[List[str]], out: str
) -> None:
    """One panel per run: its ALWA weights (the RPN's and the RoI head's)
    against the iteration, titled with its label and box mAP."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = labels or work_dirs
    if len(labels) != len(work_dirs):
        raise SystemExit(
            f'{len(work_dirs)} work dirs but {len(labels)} labels'
        )
    # One column up to 6 panels, then two (filled row by row).
    ncols = 1 if len(work_dirs) <= 6 else 2
    nrows = -(-len(work_dirs) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(7 * ncols, 1.6 * nrows + 0.6),
        sharex=True,
        squeeze=False,
    )
    for ax in axes.flat[len(work_dirs) :]:
        ax.set_visible(False)
    for ax, work_dir, label in zip(axes.flat, work_dirs, labels):
        records = load_scalars(work_dir)
        train = [r for r in records if 'loss' in r]
        keys = sorted(
            {
                k
                for r in train
                for k in r
                if k.startswith('alwa_') and k.endswith('_weight')
            }
        )
        if not keys:
            raise SystemExit(f'{work_dir}: no ALWA weights logged')
        for k in keys:
            ax.plot(
                [r['iter'] for r in train if k in r],
                [r[k] for r in train if k in r],
                label=k,
            )
        maps = [r['coco/bbox_mAP'] for r in records if 'coco/bbox_mAP' in r]
        ax.set_title(
            label + (f' (box mAP {maps[-1]:.3f})' if maps else ''), fontsize=8
        )
        ax.set_ylim(0, 1.05)
        ax.set_ylabel('weight', fontsize=8)
        ax.legend(fontsize=6, loc='lower left')
    for col in range(ncols):  # the lowest panel of each column
        bottom = [ax for ax in axes[:, col] if ax.get_visible()][-1]
        bottom.xaxis.set_tick_params(labelbottom=True)
        bottom.set_xlabel('iteration')
    save_figure(fig, out, 'ALWA weight traces')
