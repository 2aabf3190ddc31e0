"""Box statistics of a training set, shared by the balance report and the
data-adaptive recipe (:mod:`~mmdet_libra_ext.analysis.fit_to_data`):
the boxes' sizes and shapes, how well an anchor generator's anchors fit
them (best possible recall), anchors and an input scale chosen for them.

The fit of an anchor to a box is their IoU with both centred at the same
point (the anchor generator places an anchor at every stride, so the
offset is at most half a stride; the centred IoU is the best any anchor of
that shape reaches). A box is recallable when its best anchor reaches
``thr``.
"""

import math
from typing import Any, Dict, List, Sequence, Tuple

import torch
from torch import Tensor

#: Multipliers of the anchor scales searched: quarter octaves from 1/4x to
#: 4x.
SCALE_STEPS = [2 ** (k / 4) for k in range(-8, 9)]


def leaf_datasets(dataset: Any) -> List[Any]:
    """The datasets under MMDetection's and mmengine's wrappers (repeat,
    class-balanced, concatenation), each once."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in leaf_datasets(sub)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def dataset_instances(
    dataset: Any,
) -> List[Tuple[List[int], Tensor, Tuple[int, int]]]:
    """Per image of the training set (under its wrappers): the labels and
    the boxes (``(n, 4)`` xyxy, the annotation's pixels) of its instances
    that are not ignored, and the image's ``(width, height)`` (0 where the
    annotation does not say)."""
    out = []
    for ds in leaf_datasets(dataset):
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            inst = [
                x
                for x in info.get('instances', [])
                if not x.get('ignore_flag', 0)
            ]
            boxes = torch.tensor(
                [x['bbox'] for x in inst], dtype=torch.float32
            ).reshape(-1, 4)
            size = (int(info.get('width', 0)), int(info.get('height', 0)))
            out.append(([int(x['bbox_label']) for x in inst], boxes, size))
    return out


def pipeline_resizes(pipeline: Any) -> List[Any]:
    """The ``Resize`` transforms of a built pipeline, nested ones (test time
    augmentation) too."""
    out = []
    stack = list(getattr(pipeline, 'transforms', []))
    while stack:
        t = stack.pop()
        if type(t).__name__ == 'Resize':
            out.append(t)
        stack.extend(getattr(t, 'transforms', []) or [])
        for sub in getattr(t, 'subroutines', []) or []:
            stack.extend(getattr(sub, 'transforms', []) or [])
    return out


def first_resize(dataset: Any) -> Any:
    """The first ``Resize`` of a dataset's (first leaf's) pipeline, or None
    (a random resize or none)."""
    leaf = leaf_datasets(dataset)[0]
    for t in getattr(getattr(leaf, 'pipeline', None), 'transforms', []):
        if type(t).__name__ == 'Resize':
            return t
    return None


def resize_factors(resize: Any, size: Tuple[int, int]) -> Tuple[float, float]:
    """``(fx, fy)``: how a built ``Resize`` (mmcv's or MMDetection's)
    scales an image of ``size`` ``(width, height)`` along each axis: to
    fit its ``scale`` (``keep_ratio``: the long side within the scale's
    long side and the short within its short, one factor for both axes) or
    by its ``scale_factor``. ``(1, 1)`` for an image of unknown size."""
    w, h = size
    if w <= 0 or h <= 0:
        return 1.0, 1.0
    if resize.scale:
        tw, th = resize.scale
    else:
        sf = resize.scale_factor
        fx, fy = (sf, sf) if isinstance(sf, (int, float)) else sf
        tw, th = w * fx, h * fy
    if resize.keep_ratio:
        f = min(max(tw, th) / max(w, h), min(tw, th) / min(w, h))
        return f, f
    return tw / w, th / h


def resized_wh(
    images: List[Tuple[List[int], Tensor, Tuple[int, int]]], resize: Any
) -> Tuple[Tensor, float]:
    """The boxes' widths and heights after ``resize`` (images as
    :func:`dataset_instances` gives them) and the median factor (the
    geometric mean of the two axes')."""
    factors = [resize_factors(resize, size) for _, _, size in images]
    boxes = [b * b.new_tensor(f * 2) for (_, b, _), f in zip(images, factors)]
    mean = torch.tensor([math.sqrt(fx * fy) for fx, fy in factors])
    return box_wh(torch.cat(boxes)), float(mean.double().median())


def box_wh(boxes: Tensor) -> Tensor:
    """Widths and heights of xyxy boxes, those of zero size left out."""
    wh = boxes[:, 2:] - boxes[:, :2]
    return wh[(wh > 0).all(1)]


def centred_iou(wh: Tensor, anchors_wh: Tensor) -> Tensor:
    """``(n, m)`` IoU of boxes ``wh`` with anchors ``anchors_wh`` (both
    ``(.., 2)``), all centred at one point."""
    w, h = wh[:, None, 0], wh[:, None, 1]
    aw, ah = anchors_wh[None, :, 0], anchors_wh[None, :, 1]
    inter = torch.minimum(w, aw) * torch.minimum(h, ah)
    return inter / (w * h + aw * ah - inter)


def generator_shapes(generator: Any) -> Tensor:
    """The widths and heights of a built MMDetection ``AnchorGenerator``'s
    base anchors, every level (``(levels * anchors per place, 2)``)."""
    base = torch.cat(list(generator.base_anchors))
    return base[:, 2:] - base[:, :2]


def best_possible_recall(
    wh: Tensor, anchors_wh: Tensor, thr: float
) -> Dict[str, float]:
    """The share of boxes whose best anchor reaches ``thr`` (centred IoU)
    and the boxes' mean best IoU."""
    if len(wh) == 0:
        return dict(bpr=math.nan, mean_best_iou=math.nan)
    best = centred_iou(wh.double(), anchors_wh.double()).max(1).values
    return dict(
        bpr=float((best >= thr).double().mean()),
        mean_best_iou=float(best.mean()),
    )


def size_quantiles(
    wh: Tensor, qs: Sequence[float] = (0.1, 0.5, 0.9)
) -> List[float]:
    """Quantiles of the boxes' sizes (square root of the area)."""
    return torch.quantile(
        (wh[:, 0] * wh[:, 1]).double().sqrt(), torch.tensor(qs).double()
    ).tolist()


def choose_input_scale(
    wh: Tensor,
    img_long_side: float,
    smallest: float = 24.0,
    largest: float = 320.0,
    max_long_side: float = 1333.0,
    steps: Sequence[float] = (0.25, 2.0),
) -> Dict[str, float]:
    """The factor to resize the training images by: the smallest
    objects (10th percentile of the sizes) no smaller than ``smallest``
    pixels, the largest (90th) no larger than ``largest``, the long side at
    most ``max_long_side``, the factor within ``steps``; where the two
    object bounds conflict, the small objects win. Rounded to a sixteenth,
    down where rounding would take the long side past ``max_long_side``."""
    p10, p50, p90 = size_quantiles(wh)
    lo, hi = steps
    low = smallest / p10
    high = min(largest / p90, max_long_side / img_long_side)
    s = max(min(1.0, high), low)
    s = min(max(s, lo), hi, max_long_side / img_long_side)
    rounded = round(s * 16) / 16
    if rounded * img_long_side > max_long_side:
        rounded = math.floor(s * 16) / 16
    s = max(rounded, 1 / 16)
    return dict(
        scale=s,
        size_p10=p10,
        size_p50=p50,
        size_p90=p90,
        long_side=img_long_side * s,
    )


#: Training images whose long sides spread by more than this (90th over
#: 10th percentile) are resized each to one long side (photos of many
#: cameras), not all by one factor (tiles, slides, frames of one sensor).
SIZE_SPREAD = 1.25


def long_side_spread(long_sides: Sequence[float]) -> float:
    """90th over 10th percentile of the images' long sides."""
    t = torch.tensor([float(x) for x in long_sides], dtype=torch.float64)
    p10, p90 = torch.quantile(t, torch.tensor([0.1, 0.9], dtype=t.dtype))
    return float(p90 / p10)


def choose_input_long_side(
    rel: Tensor,
    long_sides: Sequence[float],
    smallest: float = 24.0,
    largest: float = 320.0,
    max_long_side: float = 1333.0,
) -> Dict[str, Any]:
    """The long side to resize every image to (keeping its aspect ratio),
    from the boxes' sizes relative to their image's long side (``rel``,
    square root of the area over the long side): the images' median long
    side, raised until the small objects (10th percentile) have at least
    ``smallest`` pixels and lowered until the large ones (90th) have at
    most ``largest``, at most ``max_long_side``; where the two object
    bounds conflict, the small objects win. Rounded down to 16 px."""
    q = torch.quantile(
        rel.double(), torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    )
    r10, r50, r90 = (float(x) for x in q)
    sides = torch.tensor([float(x) for x in long_sides], dtype=torch.float64)
    median = float(torch.quantile(sides, 0.5))
    side = max(min(median, largest / r90), smallest / r10)
    side = min(side, max_long_side)
    side = max(16.0, math.floor(side / 16) * 16)
    return dict(
        mode='long_side',
        long_side=side,
        size_p10=r10 * side,
        size_p50=r50 * side,
        size_p90=r90 * side,
        image_long_p10=float(torch.quantile(sides, 0.1)),
        image_long_p90=float(torch.quantile(sides, 0.9)),
    )


def _with(gen_cfg: dict, mult: float, ratios: Sequence[float]) -> dict:
    cfg = dict(gen_cfg, ratios=[round(r, 3) for r in ratios])
    if 'octave_base_scale' in cfg:
        cfg['octave_base_scale'] = round(cfg['octave_base_scale'] * mult, 3)
    else:
        cfg['scales'] = [round(s * mult, 3) for s in cfg['scales']]
    return cfg


def choose_anchors(
    wh: Tensor,
    gen_cfg: dict,
    thr: float = 0.5,
    target: float = 0.95,
) -> Dict[str, Any]:
    """An ``AnchorGenerator`` config that fits the boxes ``wh``: the one
    given when its best possible recall (at ``thr``) reaches ``target``,
    else the best of the scales multiplied by :data:`SCALE_STEPS` and the
    ratios given or the boxes' aspect-ratio quantiles (as many as given).
    The strides and the number of anchors per place stay, so the head's
    layers keep their shapes.

    Returns ``dict(cfg, changed, before, after)`` (``before``/``after``:
    :func:`best_possible_recall` of each).
    """
    from mmdet.registry import TASK_UTILS

    def fit(cfg: dict) -> Dict[str, float]:
        return best_possible_recall(
            wh, generator_shapes(TASK_UTILS.build(cfg)), thr
        )

    before = fit(gen_cfg)
    if before['bpr'] >= target:
        return dict(cfg=gen_cfg, changed=False, before=before, after=before)
    n = len(gen_cfg['ratios'])
    ratio = (wh[:, 1] / wh[:, 0]).double()
    qs = [0.5] if n == 1 else [0.1 + 0.8 * i / (n - 1) for i in range(n)]
    data_ratios = torch.quantile(ratio, torch.tensor(qs).double()).tolist()
    best = None
    for ratios in (list(gen_cfg['ratios']), data_ratios):
        for mult in sorted(SCALE_STEPS, key=lambda m: abs(math.log(m))):
            cfg = _with(gen_cfg, mult, ratios)
            r = fit(cfg)
            key = (round(r['bpr'], 4), round(r['mean_best_iou'], 4))
            if best is None or key > best[0]:
                best = (key, cfg, r)
    assert best is not None
    return dict(cfg=best[1], changed=True, before=before, after=best[2])


def boxes_per_mpx(
    images: Sequence[Tuple[Any, Tensor, Tuple[int, int]]],
) -> float:
    """The density of the densest image (``(labels, boxes, (w, h))`` of
    :func:`dataset_instances`): boxes per megapixel of the annotations'
    pixels; 0 where no image has a known size."""
    return max(
        (len(b) * 1e6 / (w * h) for _, b, (w, h) in images if w * h > 0),
        default=0.0,
    )


def detection_cap(per_mpx: float, area: float, margin: float = 2.0) -> int:
    """Boxes a detector should be allowed to keep in an image of ``area``
    pixels for objects ``per_mpx`` dense (boxes per megapixel), with a
    ``margin``."""
    return math.ceil(margin * per_mpx * area / 1e6)
