"""Where a run's AP50 goes, per class: boxes found at all, detections that
match, overlap poorly or match nothing annotated, and the 11 points of the
11-point AP50 (``tools/analysis_tools/report.py --errors``)."""

import os.path as osp
from typing import Any, Dict, List, Tuple

from .work_dir import predict_images, run_config

#: Detections overlapping no annotated box of any class by this IoU or
#: more count as unmatched (on BCCD: mostly cells nobody annotated).
UNMATCHED_IOU = 0.1


def error_table(
    work_dir: str,
    score_thr: float = 0.5,
    split: str = 'val',
    per_image: bool = False,
) -> List[Dict[str, Any]]:
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
    with one annotated box never found). Returns the rows as dicts.

    ``per_image``: the same for each image of the split alone (its file
    name in ``image``), one row per class annotated in it: which images,
    sites or acquisitions the AP is lost on."""
    if not 0 <= score_thr <= 1:
        raise ValueError(f'score_thr must lie in [0, 1], got {score_thr!r}')
    config, checkpoint = run_config(work_dir)
    samples, classes, _ = predict_images(config, checkpoint, 10**9, split)
    if not per_image:
        return class_rows(samples, classes, score_thr)
    rows = []
    for sample in samples:
        image = osp.basename(sample[0])
        annotated = {label for _, label in sample[1]}
        rows += [
            dict(image=image, **row)
            for c, row in enumerate(class_rows([sample], classes, score_thr))
            if c in annotated
        ]
    return rows


def class_rows(
    samples: List[Tuple[str, list, Any]],
    classes: Tuple[str, ...],
    score_thr: float,
) -> List[Dict[str, Any]]:
    """:func:`error_table`'s rows, one per class, over ``samples`` (image
    path, ground-truth boxes and labels, prediction) as
    :func:`predict_images` gives them."""
    import numpy as np
    from mmdet.evaluation.functional import bbox_overlaps, eval_map

    anns: List[dict] = []
    dets: List[list] = []
    kept: List[list] = []
    rows: List[Dict[str, Any]] = [
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


def format_error_table(rows: List[Dict[str, Any]], score_thr: float) -> str:
    """The rows of :func:`error_table` as the markdown tables of
    ``errors.md``."""
    # Per image (error_table's per_image): the image before the class.
    image = 'image | ' if rows and 'image' in rows[0] else ''

    def name(r: Dict[str, Any]) -> str:
        return f'| {r["image"]} | {r["cls"]}' if image else f'| {r["cls"]}'

    lines = [
        f'| {image}class | annotated | found (recall, all scores) | '
        f'detections >= {score_thr}: matched | poor or repeated | unmatched '
        f'(IoU < {UNMATCHED_IOU} with every annotation) | AP50 (11-pt) | '
        'AP50 without unmatched |',
        '|---' * (8 + bool(image)) + '|',
    ]
    lines += [
        f'{name(r)} | {r["annotated"]} | {r["found"]:.3f} | '
        f'{r["matched"]} | {r["poor"]} | {r["unmatched"]} | '
        f'{r["ap50"]:.3f} | {r["ap50_without_unmatched"]:.3f} |'
        for r in rows
    ]
    lines += [
        '',
        'The 11 points of the 11-point AP50 (its mean): the highest '
        'precision at recall >= r, zero where r is never reached.',
        '',
        f'| {image}class | found | '
        + ' | '.join(f'r = {r / 10:.1f}' for r in range(11))
        + ' | AP50 (11-pt) |',
        '|---' * (14 + bool(image)) + '|',
    ]
    lines += [
        f'{name(r)} | {r["found"]:.3f} | '
        + ' | '.join(f'{p:.2f}' for p in r['points'])
        + f' | {r["ap50"]:.3f} |'
        for r in rows
    ]
    return '\n'.join(lines)
