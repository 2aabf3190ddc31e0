"""Generate the embedded ``shapes`` detection dataset in COCO format.

The dataset is small, deterministic for a seed, and hard enough to be worth
learning: four object classes drawn with random colours at sizes from about
8 to 128 pixels, on cluttered backgrounds (colour gradients, noise, random
line segments and blobs that are not objects), with partly overlapping
objects and some images that contain no object at all.

A second variant, ``crowded``, is the transfer target of the papers'
regime (pretrain on ``shapes``, fine-tune on ``crowded``): five other
classes (star, diamond, bar, hexagon, arrow), small objects (5 to 40 px),
crowded images (12 to 40 objects, overlaps up to IoU 0.5) and twice the
clutter.

Usage::

    python -m mmdet_libra_ext.datasets.make_shapes data/shapes
    python -m mmdet_libra_ext.datasets.make_shapes OUT --num-train 600 --seed 1
    python -m mmdet_libra_ext.datasets.make_shapes data/crowded \
        --variant crowded

Layout written under ``OUT``::

    OUT/annotations/instances_train.json
    OUT/annotations/instances_val.json
    OUT/train/000000.png ...
    OUT/val/000000.png ...

Configs read it through ``data_root``, ``ann_file`` and
``metainfo=dict(classes=SHAPES_CLASSES)``, so any COCO-format dataset can be
substituted with ``--cfg-options``.
"""

import argparse
import json
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import cv2
import numpy as np

SHAPES_CLASSES = ('circle', 'square', 'triangle', 'cross')
CROWDED_CLASSES = ('star', 'diamond', 'bar', 'hexagon', 'arrow')

#: Default split sizes and seeds (the val seed differs from the train seed).
DEFAULT_SPLITS = (('train', 500, 0), ('val', 100, 1))
#: The crowded variant's training split (its images hold 12 to 40 objects:
#: 300 of them train a detector in about as long as the shapes' 500).
CROWDED_NUM_TRAIN = 300

#: The generator's settings of each variant (see :func:`make_image`).
VARIANTS: Dict[str, Dict[str, Any]] = {
    'shapes': dict(classes=SHAPES_CLASSES),
    'crowded': dict(
        classes=CROWDED_CLASSES,
        min_objects=12,
        max_objects=40,
        empty_prob=0.0,
        min_size=5.0,
        max_size=40.0,
        max_iou=0.5,
        clutter=2,
    ),
}


def _polygon(
    cls_name: str, cx: float, cy: float, size: float, angle: float
) -> np.ndarray:
    """Outline of one object as an (N, 2) float polygon."""
    r = size / 2.0
    if cls_name == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'square':
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * r * 0.8
    elif cls_name == 'triangle':
        t = np.array([-90, 30, 150]) * np.pi / 180
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'cross':
        a, b = 1.0, 0.33
        pts = (
            np.array(
                [
                    [-b, -a],
                    [b, -a],
                    [b, -b],
                    [a, -b],
                    [a, b],
                    [b, b],
                    [b, a],
                    [-b, a],
                    [-b, b],
                    [-a, b],
                    [-a, -b],
                    [-b, -b],
                ],
                float,
            )
            * r
        )
    elif cls_name == 'star':
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * (radius * r)[:, None]
    elif cls_name == 'diamond':
        pts = np.array([[0, -1], [0.55, 0], [0, 1], [-0.55, 0]], float) * r
    elif cls_name == 'bar':
        pts = np.array([[-1, -0.3], [1, -0.3], [1, 0.3], [-1, 0.3]], float) * r
    elif cls_name == 'hexagon':
        t = np.arange(6) * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'arrow':
        pts = (
            np.array(
                [
                    [-1, -0.25],
                    [0.2, -0.25],
                    [0.2, -0.6],
                    [1, 0],
                    [0.2, 0.6],
                    [0.2, 0.25],
                    [-1, 0.25],
                ],
                float,
            )
            * r
        )
    else:
        raise ValueError(f'unknown shape class {cls_name!r}')
    if cls_name != 'circle':
        c, s = math.cos(angle), math.sin(angle)
        pts = pts @ np.array([[c, s], [-s, c]])
    return pts + np.array([cx, cy])


def _box_iou(a: List[float], b: List[float]) -> float:
    """IoU of two xyxy boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (
        (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    )
    return inter / union if union > 0 else 0.0


def _background(
    rng: np.random.Generator, h: int, w: int, clutter: int = 1
) -> np.ndarray:
    """Gradient + noise + distractor strokes and blobs (uint8 BGR);
    ``clutter`` multiplies the number of strokes and blobs."""
    c0 = rng.uniform(0, 255, 3)
    c1 = rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, w)[None, :, None]
    if rng.random() < 0.5:
        t = np.linspace(0, 1, h)[:, None, None]
    img = c0 * (1 - t) + c1 * t + np.zeros((h, w, 3))
    img += rng.normal(0, rng.uniform(4, 20), (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3 * clutter, 12 * clutter))):
        p0 = tuple(int(v) for v in rng.integers(0, [w, h]))
        p1 = tuple(int(v) for v in rng.integers(0, [w, h]))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p0, p1, color, int(rng.integers(1, 3)), cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 6 * clutter))):
        center = tuple(int(v) for v in rng.integers(0, [w, h]))
        axes = tuple(int(v) for v in rng.integers(2, 7, 2))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.ellipse(
            img,
            center,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            color,
            -1,
            cv2.LINE_AA,
        )
    return img


def make_image(
    rng: np.random.Generator,
    img_size: int = 256,
    max_objects: int = 8,
    empty_prob: float = 0.08,
    min_size: float = 8.0,
    max_size: float = 128.0,
    classes: Tuple[str, ...] = SHAPES_CLASSES,
    min_objects: int = 1,
    max_iou: float = 0.3,
    clutter: int = 1,
) -> Tuple[np.ndarray, List[Dict]]:
    """Draw one image and return it with its objects: between
    ``min_objects`` and ``max_objects`` of ``classes`` (fewer where they do
    not fit), no two overlapping by more than ``max_iou``.

    Returns:
        tuple: the BGR uint8 image and a list of dicts with ``category_id``
        (0-based index into ``classes``), ``bbox`` (xyxy) and ``polygon``
        (flat list).
    """
    img = _background(rng, img_size, img_size, clutter)
    objects: List[Dict] = []
    if rng.random() < empty_prob:
        return img, objects
    n_target = int(rng.integers(min_objects, max_objects + 1))
    for _ in range(n_target * 10):
        if len(objects) >= n_target:
            break
        # Log-uniform sizes: as many tiny as large objects.
        size = float(np.exp(rng.uniform(np.log(min_size), np.log(max_size))))
        cls = int(rng.integers(len(classes)))
        cx, cy = rng.uniform(size / 2, img_size - size / 2, 2)
        pts = _polygon(
            classes[cls], cx, cy, size, float(rng.uniform(0, 2 * np.pi))
        )
        pts = np.clip(pts, 0, img_size - 1)
        box = [
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(pts[:, 0].max()) + 1,
            float(pts[:, 1].max()) + 1,
        ]
        # Overlaps are allowed, heavy occlusion is not.
        if any(_box_iou(box, o['bbox']) > max_iou for o in objects):
            continue
        region = img[int(box[1]) : int(box[3]), int(box[0]) : int(box[2])]
        bg_mean = region.reshape(-1, 3).mean(0)
        # Colour far enough from the local background to be visible.
        for _ in range(10):
            color = rng.integers(0, 256, 3)
            if np.abs(color - bg_mean).sum() > 120:
                break
        cv2.fillPoly(
            img,
            [np.round(pts * 16).astype(np.int32)],
            tuple(int(v) for v in color),
            cv2.LINE_AA,
            shift=4,
        )
        objects.append(
            dict(
                category_id=cls,
                bbox=box,
                polygon=[round(float(v), 2) for v in pts.reshape(-1)],
            )
        )
    return img, objects


def make_split(
    out_dir: str,
    split: str,
    num_images: int,
    seed: int,
    img_size: int = 256,
    variant: str = 'shapes',
) -> Dict:
    """Write one split's images and return its COCO dictionary."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    images: List[Dict] = []
    annotations: List[Dict] = []
    spec: Dict[str, Any] = VARIANTS[variant]
    for i in range(num_images):
        img, objects = make_image(rng, img_size=img_size, **spec)
        file_name = f'{i:06d}.png'
        cv2.imwrite(osp.join(out_dir, split, file_name), img)
        images.append(
            dict(id=i, file_name=file_name, width=img_size, height=img_size)
        )
        for obj in objects:
            x0, y0, x1, y1 = obj['bbox']
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i,
                    category_id=obj['category_id'] + 1,
                    bbox=[
                        round(x0, 2),
                        round(y0, 2),
                        round(x1 - x0, 2),
                        round(y1 - y0, 2),
                    ],
                    area=round((x1 - x0) * (y1 - y0), 2),
                    iscrowd=0,
                    segmentation=[obj['polygon']],
                )
            )
    return dict(
        info=dict(
            description=f'mmdet_libra_ext synthetic {variant}',
            version='1.0',
            seed=seed,
        ),
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i + 1, name=n, supercategory='shape')
            for i, n in enumerate(spec['classes'])
        ],
    )


def make_shapes(
    out_dir: str,
    num_train: int = DEFAULT_SPLITS[0][1],
    num_val: int = DEFAULT_SPLITS[1][1],
    seed: int = 0,
    img_size: int = 256,
    variant: str = 'shapes',
) -> Dict[str, str]:
    """Write the whole dataset (``variant``: a key of :data:`VARIANTS`);
    return the annotation file of each split.

    The train split uses ``seed`` and the val split ``seed + 1``, so the two
    never share an image.
    """
    if variant not in VARIANTS:
        raise ValueError(
            f'variant must be one of {sorted(VARIANTS)}, got {variant!r}'
        )
    if num_train < 0 or num_val < 0:
        raise ValueError(
            f'split sizes must be >= 0, got num_train='
            f'{num_train}, num_val={num_val}'
        )
    if img_size < 32:
        raise ValueError(f'img_size must be >= 32, got {img_size}')
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    ann_files = {}
    for split, num, split_seed in (
        ('train', num_train, seed),
        ('val', num_val, seed + 1),
    ):
        coco = make_split(out_dir, split, num, split_seed, img_size, variant)
        ann_file = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        with open(ann_file, 'w') as f:
            json.dump(coco, f)
        ann_files[split] = ann_file
    return ann_files


def main(argv: Optional[List[str]] = None) -> None:
    """Command line: write a dataset (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', nargs='?', default='data/shapes')
    parser.add_argument(
        '--num-train',
        type=int,
        default=None,
        help=f'default: {DEFAULT_SPLITS[0][1]} ('
        f'{CROWDED_NUM_TRAIN} for the crowded variant)',
    )
    parser.add_argument('--num-val', type=int, default=DEFAULT_SPLITS[1][1])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--img-size', type=int, default=256)
    parser.add_argument('--variant', default='shapes', choices=VARIANTS)
    args = parser.parse_args(argv)
    if args.num_train is None:
        args.num_train = (
            CROWDED_NUM_TRAIN
            if args.variant == 'crowded'
            else DEFAULT_SPLITS[0][1]
        )
    files = make_shapes(
        args.out_dir,
        args.num_train,
        args.num_val,
        args.seed,
        args.img_size,
        args.variant,
    )
    for split, path in files.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
