"""Summarise a work dir: COCO box mAP table (and Pascal VOC AP50 per class
where the config evaluates it), loss curves, the detections of the trained
model on a few validation images beside their ground truth and, for ALWA
runs, the loss-weight traces and the raw against the weighted losses, and,
where BalanceMonitorHook logged, its readings (``balance.png``), as PNGs;
or put the ALWA weight traces of several runs side by side.

    python tools/analysis_tools/report.py WORK_DIR [--out WORK_DIR/report]
        [--images 4] [--score-thr 0.3] [--errors [--per-image]]
        [--split val|test]
    python tools/analysis_tools/report.py --traces WORK_DIR [WORK_DIR ...] \
        [--labels LABEL ...] --out FILE.png

The detections (``detections.png``) come from the run's own config (the
copy tools/train.py writes into the work dir) and its checkpoint (the
best on validation where the config keeps one, else ``last_checkpoint``),
on the first ``--images`` images of its validation split: ground truth in
dashed white, predictions with a score of at least ``--score-thr`` in one
colour per class, labelled with class and score.
``--images 0`` skips them. ``--errors`` breaks each class's AP50 on the
whole validation split down (see :func:`error_table`) into ``errors.md``;
``--per-image`` does so for each image alone (which images, sites or
acquisitions the AP is lost on).
``--split test`` draws and breaks down the test split instead, as for a
run without a validation split (a config trained on trainval).
"""

import argparse
import os
import os.path as osp

from mmdet_libra_ext.analysis.errors import (
    error_table,
    format_error_table,
)
from mmdet_libra_ext.analysis.weight_traces import (
    save_figure,
    weight_traces,
)
from mmdet_libra_ext.analysis.work_dir import (
    METRICS,
    VOC_PREFIXES,
    load_scalars,
    predict_images,
    run_config,
)


def check_score_thr(score_thr):
    """Refuse a score threshold outside [0, 1] before any inference."""
    if not 0 <= score_thr <= 1:
        raise SystemExit(f'--score-thr must lie in [0, 1], got {score_thr}')


def draw_detections(work_dir, out, num_images=4, score_thr=0.3, split='val'):
    """Draw the run's detections on images of its ``split`` (see the
    module's docstring) into ``out``; returns the number of boxes drawn per
    image as ``[(ground truths, predictions), ...]``."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import mmcv

    check_score_thr(score_thr)
    config, checkpoint = run_config(work_dir)
    samples, classes, split = predict_images(
        config, checkpoint, num_images, split
    )
    colours = plt.get_cmap('tab10')
    ncols = min(2, len(samples))
    nrows = -(-len(samples) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(6 * ncols, 4.6 * nrows), squeeze=False
    )
    for ax in axes.flat[len(samples) :]:
        ax.set_visible(False)
    counts = []
    for ax, (path, gts, pred) in zip(axes.flat, samples):
        ax.imshow(mmcv.imread(path, channel_order='rgb'))
        for (x1, y1, x2, y2), _ in gts:
            ax.add_patch(
                plt.Rectangle(
                    (x1, y1),
                    x2 - x1,
                    y2 - y1,
                    fill=False,
                    ec='white',
                    ls='--',
                    lw=1.2,
                )
            )
        keep = pred.scores >= score_thr
        boxes = pred.bboxes[keep].tolist()
        for (x1, y1, x2, y2), label, score in zip(
            boxes, pred.labels[keep].tolist(), pred.scores[keep].tolist()
        ):
            colour = colours(label % 10)
            ax.add_patch(
                plt.Rectangle(
                    (x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, lw=1.5
                )
            )
            ax.text(
                x1,
                y1,
                f'{classes[label]} {score:.2f}',
                fontsize=6,
                color='black',
                va='bottom',
                bbox=dict(fc=colour, ec='none', pad=0.5, alpha=0.8),
            )
        counts.append((len(gts), len(boxes)))
        ax.set_title(
            f'{osp.basename(path)}: {len(gts)} ground truth (dashed), '
            f'{len(boxes)} detections >= {score_thr}',
            fontsize=8,
        )
        ax.axis('off')
    name = {'val': 'validation'}.get(split, split)
    save_figure(fig, out, f'detections on {len(samples)} {name} images')
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', nargs='?')
    parser.add_argument('--out', default=None)
    parser.add_argument(
        '--traces',
        nargs='+',
        metavar='WORK_DIR',
        help="draw these runs' ALWA weights into --out",
    )
    parser.add_argument(
        '--labels',
        nargs='+',
        metavar='LABEL',
        help='a title for each of --traces',
    )
    parser.add_argument(
        '--images',
        type=int,
        default=4,
        help='images to draw detections on (0: none)',
    )
    parser.add_argument(
        '--split',
        choices=('val', 'test'),
        default='val',
        help='the split the images are drawn from and --errors breaks down '
        '(default val; a run without one: test)',
    )
    parser.add_argument(
        '--score-thr',
        type=float,
        default=0.3,
        help='the lowest score of a drawn detection',
    )
    parser.add_argument(
        '--errors',
        action='store_true',
        help='also write errors.md: per class, where the AP50 goes on the '
        'whole --split (found, matched, poor and unmatched detections at '
        '--score-thr, AP50 without the unmatched ones, the 11 points of '
        'the 11-point AP50)',
    )
    parser.add_argument(
        '--per-image',
        action='store_true',
        help='with --errors: the same breakdown for each image of --split '
        'alone, one row per class annotated in it (which images, sites or '
        'acquisitions the AP is lost on)',
    )
    args = parser.parse_args(argv)
    if args.per_image and not args.errors:
        parser.error('--per-image breaks down --errors: give both')
    if args.traces:
        if not args.out:
            parser.error('--traces needs --out FILE.png')
        weight_traces(args.traces, args.labels, args.out)
        return
    if not args.work_dir:
        parser.error('give a WORK_DIR or --traces')
    out = args.out or osp.join(args.work_dir, 'report')
    os.makedirs(out, exist_ok=True)
    records = load_scalars(args.work_dir)
    evals = [r for r in records if any(k.startswith('coco/') for k in r)]
    train = [r for r in records if 'loss' in r]
    lines = [
        '| step | ' + ' | '.join(METRICS) + ' |',
        '|' + '---|' * (len(METRICS) + 1),
    ]
    for r in evals:
        lines.append(
            f'| {r.get("step", "?")} | '
            + ' | '.join(
                f'{r.get("coco/" + m, float("nan")):.3f}' for m in METRICS
            )
            + ' |'
        )
    table = '\n'.join(lines)
    with open(osp.join(out, 'metrics.md'), 'w') as f:
        f.write(table + '\n')
    print(table)
    if evals:
        print(f'COCO box mAP: {evals[-1]["coco/bbox_mAP"]:.3f}')
        voc = {
            k: v
            for k, v in evals[-1].items()
            if k.startswith(VOC_PREFIXES + ('pascal_voc/',))
        }
        if voc:
            lines = ['', '| Pascal VOC | AP |', '|---|---|']
            lines += [f'| {k} | {v:.3f} |' for k, v in voc.items()]
            with open(osp.join(out, 'metrics.md'), 'a') as f:
                f.write('\n'.join(lines) + '\n')
            print('\n'.join(lines))
    if args.errors:
        table = format_error_table(
            error_table(
                args.work_dir, args.score_thr, args.split, args.per_image
            ),
            args.score_thr,
        )
        with open(osp.join(out, 'errors.md'), 'w') as f:
            f.write(table + '\n')
        print(table)
    if args.images > 0:
        draw_detections(
            args.work_dir,
            osp.join(out, 'detections.png'),
            args.images,
            args.score_thr,
            args.split,
        )

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
        save_figure(fig, osp.join(out, name), what)

    def draw_losses(ax):
        for k in sorted({k for r in train for k in r if k.startswith('loss')}):
            ax.plot(*series(k), label=k)
        ax.set_title('training losses')

    raw_keys = sorted(
        {
            k
            for r in train
            for k in r
            if k.startswith('alwa_') and k.endswith('_raw')
        }
    )

    def draw_alwa(ax):
        # ALWA: the raw classification losses against the weighted ones
        # that were trained (alwa_cls_raw <-> loss_cls, ...).
        for k in raw_keys:
            (line,) = ax.plot(*series(k), label=f'{k} (raw)', alpha=0.6)
            trained = 'loss_' + k[len('alwa_') : -len('_raw')]
            pts = series(trained)
            if pts and trained.endswith('cls'):
                ax.plot(
                    *pts,
                    color=line.get_color(),
                    ls='--',
                    label=f'{trained} (weighted)',
                )

    weight_keys = sorted({k for r in train for k in r if 'weight' in k})

    def draw_weights(ax):
        for k in weight_keys:
            ax.plot(*series(k), label=k)

    # BalanceMonitorHook's readings (docs/balance.md): shares and ratios.
    shares = sorted(
        {
            k
            for r in train
            for k in r
            if k.startswith('balance/') and k.endswith('_share')
        }
    )
    ratios = sorted(
        {
            k
            for r in train
            for k in r
            if k.startswith('balance/') and k.endswith('_ratio')
        }
    )

    def draw_balance(ax):
        for k in shares:
            ax.plot(*series(k), label=k[len('balance/') :])
        ax.set_ylim(0, 1)
        ax.set_title('balance (BalanceMonitorHook)')
        if ratios:
            twin = ax.twinx()
            for k in ratios:
                twin.plot(*series(k), ls='--', label=k[len('balance/') :])
            twin.set_ylabel('cls/reg loss ratio (dashed)')
            twin.legend(fontsize=7, loc='upper right')

    if train:
        figure('losses.png', 'loss curves', 'loss', draw_losses)
    if shares:
        figure(
            'balance.png', 'balance readings', 'share', draw_balance, log=False
        )
    if raw_keys:
        figure(
            'alwa_losses.png', 'ALWA raw/weighted losses', 'loss', draw_alwa
        )
    if weight_keys:
        figure(
            'loss_weights.png',
            'loss weights',
            'loss weight',
            draw_weights,
            log=False,
        )


if __name__ == '__main__':
    main()
