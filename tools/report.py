"""Summarise a work dir: COCO box mAP table, loss curves and, for ALWA runs,
the loss-weight traces and the raw against the weighted losses, as PNGs.

    python tools/report.py WORK_DIR [--out WORK_DIR/report]
"""
import argparse
import glob
import json
import os
import os.path as osp

METRICS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75', 'bbox_mAP_s',
           'bbox_mAP_m', 'bbox_mAP_l')


def load_scalars(work_dir):
    """Records of the newest run's ``vis_data/scalars.json``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--out', default=None)
    args = parser.parse_args()
    out = args.out or osp.join(args.work_dir, 'report')
    os.makedirs(out, exist_ok=True)
    records = load_scalars(args.work_dir)
    evals = [r for r in records if any(k.startswith('coco/') for k in r)]
    train = [r for r in records if 'loss' in r]
    lines = ['| step | ' + ' | '.join(METRICS) + ' |',
             '|' + '---|' * (len(METRICS) + 1)]
    for r in evals:
        lines.append(f"| {r.get('step', '?')} | " + ' | '.join(
            f"{r.get('coco/' + m, float('nan')):.3f}" for m in METRICS) +
            ' |')
    table = '\n'.join(lines)
    with open(osp.join(out, 'metrics.md'), 'w') as f:
        f.write(table + '\n')
    print(table)
    if evals:
        print(f"COCO box mAP: {evals[-1]['coco/bbox_mAP']:.3f}")

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def series(key):
        return list(zip(*[(r['iter'], r[key]) for r in train if key in r]))

    def figure(name, what, ylabel, draw, log=True):
        fig, ax = plt.subplots(figsize=(7, 4))
        draw(ax)
        ax.set_xlabel('iteration')
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale('log')
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(osp.join(out, name), dpi=100)
        plt.close(fig)
        print(f'{what}: {osp.join(out, name)}')

    def draw_losses(ax):
        for k in sorted({k for r in train for k in r
                         if k.startswith('loss')}):
            ax.plot(*series(k), label=k)
        ax.set_title('training losses')

    raw_keys = sorted({k for r in train for k in r
                       if k.startswith('alwa_') and k.endswith('_raw')})

    def draw_alwa(ax):
        # ALWA: the raw classification losses against the weighted ones
        # that were trained (alwa_cls_raw <-> loss_cls, ...).
        for k in raw_keys:
            line, = ax.plot(*series(k), label=f'{k} (raw)', alpha=0.6)
            trained = 'loss_' + k[len('alwa_'):-len('_raw')]
            pts = series(trained)
            if pts and trained.endswith('cls'):
                ax.plot(*pts, color=line.get_color(), ls='--',
                        label=f'{trained} (weighted)')

    weight_keys = sorted({k for r in train for k in r if 'weight' in k})

    def draw_weights(ax):
        for k in weight_keys:
            ax.plot(*series(k), label=k)

    if train:
        figure('losses.png', 'loss curves', 'loss', draw_losses)
    if raw_keys:
        figure('alwa_losses.png', 'ALWA raw/weighted losses', 'loss',
               draw_alwa)
    if weight_keys:
        figure('loss_weights.png', 'loss weights', 'loss weight',
               draw_weights, log=False)

if __name__ == '__main__':
    main()
