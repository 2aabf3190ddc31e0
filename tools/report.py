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
    loss_keys = sorted({k for r in train for k in r
                        if k.startswith('loss')})
    if train:
        fig, ax = plt.subplots(figsize=(7, 4))
        for k in loss_keys:
            pts = [(r['iter'], r[k]) for r in train if k in r]
            ax.plot(*zip(*pts), label=k)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_yscale('log')
        ax.legend(fontsize=7)
        ax.set_title('training losses')
        fig.tight_layout()
        fig.savefig(osp.join(out, 'losses.png'), dpi=100)
        print(f"loss curves: {osp.join(out, 'losses.png')}")
    weight_keys = sorted({k for r in train for k in r if 'weight' in k})
    raw_keys = sorted({k for r in train for k in r
                       if k.startswith('alwa_') and k.endswith('_raw')})
    if raw_keys:
        # ALWA: the raw classification losses against the weighted ones
        # that were trained (alwa_cls_raw <-> loss_cls, ...).
        fig, ax = plt.subplots(figsize=(7, 4))
        for k in raw_keys:
            pts = [(r['iter'], r[k]) for r in train if k in r]
            line, = ax.plot(*zip(*pts), label=f'{k} (raw)', alpha=0.6)
            trained = 'loss_' + k[len('alwa_'):-len('_raw')]
            pts = [(r['iter'], r[trained]) for r in train if trained in r]
            if pts and trained.endswith('cls'):
                ax.plot(*zip(*pts), color=line.get_color(), ls='--',
                        label=f'{trained} (weighted)')
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss')
        ax.set_yscale('log')
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(osp.join(out, 'alwa_losses.png'), dpi=100)
        print(f"ALWA raw/weighted losses: {osp.join(out, 'alwa_losses.png')}")
    if weight_keys:
        fig, ax = plt.subplots(figsize=(7, 4))
        for k in weight_keys:
            pts = [(r['iter'], r[k]) for r in train if k in r]
            ax.plot(*zip(*pts), label=k)
        ax.set_xlabel('iteration')
        ax.set_ylabel('loss weight')
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(osp.join(out, 'loss_weights.png'), dpi=100)
        print(f"loss weights: {osp.join(out, 'loss_weights.png')}")


if __name__ == '__main__':
    main()
