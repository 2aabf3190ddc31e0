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
import os
import os.path as osp
from typing import Any, Dict, List, Optional

import cv2
import numpy as np

from .shapes_drawing import CROWDED_CLASSES, SHAPES_CLASSES, make_image

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
    # The balance report's control (docs/balance.md): one large object per
    # image, the classes in equal shares.
    'single': dict(
        classes=SHAPES_CLASSES,
        min_objects=1,
        max_objects=1,
        empty_prob=0.0,
        min_size=160.0,
        max_size=230.0,
    ),
}


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
