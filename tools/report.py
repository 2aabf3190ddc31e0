"""Summarise a work dir: COCO box mAP table (and Pascal VOC AP50 per class
where the config evaluates it), loss curves, the detections of the trained
model on a few validation images beside their ground truth and, for ALWA
runs, the loss-weight traces and the raw against the weighted losses, as
PNGs; or put the ALWA weight traces of several runs side by side.

    python tools/report.py WORK_DIR [--out WORK_DIR/report]
        [--images 4] [--score-thr 0.3] [--errors] [--split val|test]
    python tools/report.py --traces WORK_DIR [WORK_DIR ...] \
        [--labels LABEL ...] --out FILE.png

The detections (``detections.png``) come from the run's own config (the
copy tools/train.py writes into the work dir) and its newest checkpoint
(``last_checkpoint``), on the first ``--images`` images of its validation
split: ground truth in dashed white, predictions with a score of at least
``--score-thr`` in one colour per class, labelled with class and score.
``--images 0`` skips them. ``--errors`` breaks each class's AP50 on the
whole validation split down (see :func:`error_table`) into ``errors.md``.
``--split test`` draws and breaks down the test split instead, as for a
run without a validation split (a config trained on trainval).
"""

import argparse
import glob
import json
import os
import os.path as osp

METRICS = (
    'bbox_mAP',
    'bbox_mAP_50',
    'bbox_mAP_75',
    'bbox_mAP_s',
    'bbox_mAP_m',
    'bbox_mAP_l',
)
#: The BCCD configs' Pascal VOC evaluators (11-point and area AP).
VOC_PREFIXES = ('voc07/', 'voc12/')


def is_val(record):
    """Whether a scalars record is an evaluation (``coco/...`` keys)."""
    return any(k.startswith('coco/') for k in record)


def load_scalars(work_dir):
    """The records of a run's ``*/vis_data/scalars.json``, by step. A run
    resumed with ``--resume`` logs the steps after the resume point into a
    new timestamped folder, a restarted one all of them: the newest record
    of each step (training or evaluation) wins."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    )
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    by_step = {}
    for file in files:
        with open(file) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    by_step[(is_val(r), r.get('step'))] = r
    return [by_step[k] for k in sorted(by_step, key=lambda k: k[1])]


def save_figure(fig, out, what):
    """Lay out, write (its folder made) and close a figure; say where."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f'{what}: {out}')


def run_config(work_dir):
    """The config tools/train.py copied into the work dir (the newest
    ``*.py`` there) and the checkpoint named by ``last_checkpoint``."""
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not configs or not osp.isfile(pointer):
        raise FileNotFoundError(
            f'{work_dir}: no config copy (*.py) or no last_checkpoint: '
            'not a finished tools/train.py run'
        )
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        # A work dir moved after training: the checkpoint beside it.
        checkpoint = osp.join(work_dir, osp.basename(checkpoint))
    return configs[-1], checkpoint


def predict_images(config, checkpoint, num_images, split='val'):
    """(image path, ground-truth boxes and labels, prediction) of the first
    ``num_images`` images of the config's ``split`` (``'val'`` or
    ``'test'``; val is test for a config without one, as a config trained
    on trainval), the model in eval mode on the CPU; and the classes and
    the split read."""
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile(config)
    if not cfg.get(f'{split}_dataloader'):
        split = 'test'
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    model = init_detector(cfg, checkpoint, device='cpu')
    out = []
    for i in range(min(num_images, len(dataset))):
        info = dataset.get_data_info(i)
        gts = [
            (inst['bbox'], inst['bbox_label'])
            for inst in info['instances']
            if not inst.get('ignore_flag', 0)
        ]
        pred = inference_detector(model, info['img_path']).pred_instances
        out.append((info['img_path'], gts, pred))
    return out, tuple(dataset.metainfo['classes']), split


#: Detections overlapping no annotated box of any class by this IoU or
#: more count as unmatched (on BCCD: mostly cells nobody annotated).
UNMATCHED_IOU = 0.1


def check_score_thr(score_thr):
    """Refuse a score threshold outside [0, 1] before any inference."""
    if not 0 <= score_thr <= 1:
        raise SystemExit(f'--score-thr must lie in [0, 1], got {score_thr}')


def error_table(work_dir, score_thr=0.5, split='val'):
    """Where the run's AP50 goes, per class, on its whole ``split``:
    the share of annotated boxes found at all (the recall at IoU 0.5 over
    every detection); the detections scored ``score_thr`` or more that
    match an annotated box of their class (IoU >= 0.5, each box once), that
    overlap one poorly or twice, or that overlap no annotated box of any
    class (IoU < :data:`UNMATCHED_IOU`); VOC AP50 (11-point) as evaluated,
    and with every such unmatched detection left out (an upper bound on
    what unannotated objects cost); and the 11 points the 11-point AP50
    averages (``points``: the highest precision at recall 0, 0.1, ... 1,
    zero where the recall is never reached, so the last is zero for a class
    with one annotated box never found). Returns the rows as dicts."""
    import numpy as np
    from mmdet.evaluation.functional import bbox_overlaps, eval_map

    check_score_thr(score_thr)
    config, checkpoint = run_config(work_dir)
    samples, classes, _ = predict_images(config, checkpoint, 10**9, split)
    anns, dets, kept = [], [], []
    rows = [
        dict(cls=c, annotated=0, matched=0, poor=0, unmatched=0)
        for c in classes
    ]
    for _, gts, pred in samples:
        boxes = np.array([b for b, _ in gts], np.float32).reshape(-1, 4)
        labels = np.array([lb for _, lb in gts], np.int64)
        anns.append(
            dict(
                bboxes=boxes,
                labels=labels,
                bboxes_ignore=np.zeros((0, 4), np.float32),
                labels_ignore=np.zeros(0, np.int64),
            )
        )
        det, det_kept = [], []
        for c, row in enumerate(rows):
            mine = pred.labels == c
            d = np.hstack(
                [pred.bboxes[mine].numpy(), pred.scores[mine].numpy()[:, None]]
            )
            d = d[np.argsort(-d[:, 4], kind='stable')]
            det.append(d)
            ious = bbox_overlaps(d[:, :4], boxes, use_legacy_coordinate=True)
            near = ious.max(1) if boxes.size else np.zeros(len(d))
            det_kept.append(d[near >= UNMATCHED_IOU])
            row['annotated'] += int((labels == c).sum())
            own = ious[:, labels == c]
            taken = np.zeros(own.shape[1], bool)
            for j in np.flatnonzero(d[:, 4] >= score_thr):
                k = int(own[j].argmax()) if own.shape[1] else -1
                if k >= 0 and own[j, k] >= 0.5 and not taken[k]:
                    taken[k] = True
                    row['matched'] += 1
                elif near[j] >= UNMATCHED_IOU:
                    row['poor'] += 1
                else:
                    row['unmatched'] += 1
        dets.append(det)
        kept.append(det_kept)
    for name, results in (('ap50', dets), ('ap50_without_unmatched', kept)):
        _, per_class = eval_map(
            results,
            anns,
            iou_thr=0.5,
            eval_mode='11points',
            logger='silent',
            use_legacy_coordinate=True,
        )
        for row, res in zip(rows, per_class):
            row[name] = float(res['ap'])
            if name == 'ap50':
                recall = np.asarray(res['recall']).ravel()
                precision = np.asarray(res['precision']).ravel()
                row['found'] = float(recall.max()) if recall.size else 0.0
                # (eval_map's own recall levels.)
                row['points'] = [
                    float(precision[recall >= r].max())
                    if (recall >= r).any()
                    else 0.0
                    for r in np.arange(0, 1 + 1e-3, 0.1)
                ]
    return rows


def format_error_table(rows, score_thr):
    lines = [
        f'| class | annotated | found (recall, all scores) | detections >= '
        f'{score_thr}: matched | poor or repeated | unmatched (IoU < '
        f'{UNMATCHED_IOU} with every annotation) | AP50 (11-pt) | AP50 '
        'without unmatched |',
        '|---' * 8 + '|',
    ]
    lines += [
        f'| {r["cls"]} | {r["annotated"]} | {r["found"]:.3f} | '
        f'{r["matched"]} | {r["poor"]} | {r["unmatched"]} | '
        f'{r["ap50"]:.3f} | {r["ap50_without_unmatched"]:.3f} |'
        for r in rows
    ]
    lines += [
        '',
        'The 11 points of the 11-point AP50 (its mean): the highest '
        'precision at recall >= r, zero where r is never reached.',
        '',
        '| class | found | '
        + ' | '.join(f'r = {r / 10:.1f}' for r in range(11))
        + ' | AP50 (11-pt) |',
        '|---' * 14 + '|',
    ]
    lines += [
        f'| {r["cls"]} | {r["found"]:.3f} | '
        + ' | '.join(f'{p:.2f}' for p in r['points'])
        + f' | {r["ap50"]:.3f} |'
        for r in rows
    ]
    return '\n'.join(lines)


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


def weight_traces(work_dirs, labels, out):
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


def main():
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
    args = parser.parse_args()
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
            error_table(args.work_dir, args.score_thr, args.split),
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

    if train:
        figure('losses.png', 'loss curves', 'loss', draw_losses)
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
