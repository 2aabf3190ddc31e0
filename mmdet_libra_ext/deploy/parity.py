"""What the ONNX export compares: the images it checks and the detections
of two runtimes or post-processings matched against each other."""

import copy
from typing import Any, List, Tuple

import numpy as np


def build_test_dataset(model_cfg: Any) -> Any:
    """The config's test dataset, as MMDetection's test loop builds it."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = copy.deepcopy(model_cfg.test_dataloader.dataset)
    cfg['lazy_init'] = False
    return DATASETS.build(cfg)


def matched(
    src: Tuple[np.ndarray, np.ndarray, np.ndarray],
    dst: Tuple[np.ndarray, np.ndarray, np.ndarray],
    score_thr: float,
    iou_tol: float,
    score_tol: float,
) -> Tuple[int, int]:
    """``(matched, total)``: of the detections of ``src`` (boxes, scores,
    labels) scoring at least ``score_thr``, how many have a detection of
    ``dst`` with the same label, IoU >= ``iou_tol`` and a score within
    ``score_tol``."""
    (sb, ss, sl), (db, ds, dl) = src, dst
    keep = ss >= score_thr
    sb, ss, sl = sb[keep], ss[keep], sl[keep]
    if not len(sb) or not len(db):
        return 0, len(sb)
    from mmdet.evaluation.functional import bbox_overlaps

    ok = (
        (bbox_overlaps(sb, db) >= iou_tol)
        & (sl[:, None] == dl[None])
        & (np.abs(ss[:, None] - ds[None]) <= score_tol)
    )
    return int(ok.any(1).sum()), len(sb)


def rows_without_counterpart(
    a: np.ndarray,
    a_labels: np.ndarray,
    b: np.ndarray,
    b_labels: np.ndarray,
    atol: float,
) -> int:
    """Rows of ``a`` (K, 5: box and score) with no row of ``b`` of the same
    label within ``atol`` in all five values (rows are compared as a set:
    near-equal scores may be ordered differently by the two runtimes)."""
    close = (np.abs(a[:, None, :] - b[None, :, :]).max(-1) <= atol) & (
        a_labels[:, None] == b_labels[None, :]
    )
    return int((~close.any(1)).sum())


def parity_images(model_cfg: Any, images: List[str], num: int) -> List[str]:
    """``images``, or the first ``num`` images of the config's test dataset
    in its own order, as MMDetection's test loop reads them (the data
    list's ``img_path``: annotation file names with sub-folders, or a
    dataset that is not a folder of images, work alike)."""
    if images:
        return images
    dataset = build_test_dataset(model_cfg)
    cfg = model_cfg.test_dataloader.dataset
    if len(dataset) == 0:
        raise SystemExit(
            f'the test dataset of the config ({cfg.get("ann_file")!r} under '
            f'{cfg.get("data_root")!r}) has no image; pass --images'
        )
    return [
        dataset.get_data_info(i)['img_path']
        for i in range(min(num, len(dataset)))
    ]
