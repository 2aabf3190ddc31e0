"""Small real detection datasets from a package registry, laid out as Pascal
VOC (``Annotations/``, ``ImageSets/Main/{train,val,test}.txt``,
``JPEGImages/``) for the own-dataset recipe's evidence (docs/own_dataset.md).

    python -m experiments.own_datasets neon-trees OUT_DIR --source DIR
    python -m experiments.own_datasets raccoons OUT_DIR --source DIR
    python -m experiments.own_datasets fruits OUT_DIR --source DIR

``neon-trees``: the tree crowns of the NEON sites that the ``deepforest``
wheel (PyPI, version 2.1.0) ships in ``deepforest/data``: one class, crowns
of about 40 px. The large Yellowstone image ``2019_YELL_2_528000_4978000``
(2299 x 2472) is cut into 400 x 400 tiles (no overlap; boxes cut by a tile
edge kept where at least half of their area is inside): every fifth tile is
validation, the rest training. Test: the other Yellowstone image and the
two other sites' (OSBS, SOAP; SOAP's 'Alive'/'Dead' labels are trees).
``--source`` is the wheel's ``deepforest/data`` folder (``pip download
--no-deps deepforest==2.1.0`` and unzip it).

``raccoons``: the raccoon photos of the public repository
``datitran/raccoon_dataset`` (MIT): 200 photos of one class, of 183 to
1280 px, objects that fill much of the image, VOC annotations.
``--source`` is a clone of it (``images/``, ``annotations/``,
``data/{train,test}_labels.csv``). Its own test split (40 images) is the
test split; of its 160 training images, every fifth (in file-name order)
is validation.

``fruits``: photos of apples, bananas and oranges (three classes told
apart by colour and texture; one to nine objects per photo, alone or
mixed, of about 280 px) in the layout of the public dataset "Fruit Images
for Object Detection" (``train_zip/train``, ``test_zip/test``: JPEG and
VOC XML side by side), as the GitHub repository
``duhee01/fruit_object_detection`` holds it. Its test folder (60 photos)
is the test split; of its 240 training photos, every fourth (in file-name
order) is validation, which leaves 180 to train on.
"""

import argparse
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Tuple

import cv2

TILE = 400
TRAIN_IMAGE = '2019_YELL_2_528000_4978000_image_crop2'
TEST_IMAGES = ('2019_YELL_2_541000_4977000_image_crop', 'OSBS_029', 'SOAP_061')


def read_voc(path: str) -> List[Tuple[int, int, int, int]]:
    root = ET.parse(path).getroot()
    return [
        tuple(
            int(float(o.find(f'bndbox/{k}').text))
            for k in ('xmin', 'ymin', 'xmax', 'ymax')
        )
        for o in root.findall('object')
    ]


def write_voc(path: str, name: str, size, boxes, labels) -> None:
    """A VOC annotation file: ``labels`` is the class of every box (one
    name) or of each box (a sequence as long as ``boxes``)."""
    w, h = size
    if isinstance(labels, str):
        labels = [labels] * len(boxes)
    if len(labels) != len(boxes):
        raise ValueError(f'{len(boxes)} boxes but {len(labels)} labels')
    objs = ''.join(
        f'<object><name>{label}</name><difficult>0</difficult><bndbox>'
        f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for label, (x1, y1, x2, y2) in zip(labels, boxes)
    )
    with open(path, 'w') as f:
        f.write(
            f'<annotation><filename>{name}.jpg</filename><size><width>{w}'
            f'</width><height>{h}</height><depth>3</depth></size>{objs}'
            '</annotation>'
        )


def tile_boxes(boxes, x0, y0, size):
    """The boxes with at least half their area inside the tile at
    ``(x0, y0)``, clipped to it, in its coordinates."""
    out = []
    for x1, y1, x2, y2 in boxes:
        cx1, cy1 = max(x1, x0), max(y1, y0)
        cx2, cy2 = min(x2, x0 + size), min(y2, y0 + size)
        if cx2 <= cx1 or cy2 <= cy1:
            continue
        if (cx2 - cx1) * (cy2 - cy1) * 2 < (x2 - x1) * (y2 - y1):
            continue
        out.append((cx1 - x0, cy1 - y0, cx2 - x0, cy2 - y0))
    return out


def neon_trees(source: str, out: str) -> dict:
    """Write the dataset; the number of images per split."""
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    splits = {'train': [], 'val': [], 'test': []}
    img = cv2.imread(osp.join(source, TRAIN_IMAGE + '.png'))
    if img is None:
        raise FileNotFoundError(osp.join(source, TRAIN_IMAGE + '.png'))
    boxes = read_voc(osp.join(source, TRAIN_IMAGE + '.xml'))
    h, w = img.shape[:2]
    k = 0
    for y0 in range(0, h - TILE + 1, TILE):
        for x0 in range(0, w - TILE + 1, TILE):
            tb = tile_boxes(boxes, x0, y0, TILE)
            if not tb:
                continue
            name = f'yell_tile_{k:02d}'
            cv2.imwrite(
                osp.join(out, 'JPEGImages', name + '.jpg'),
                img[y0 : y0 + TILE, x0 : x0 + TILE],
            )
            write_voc(
                osp.join(out, 'Annotations', name + '.xml'),
                name,
                (TILE, TILE),
                tb,
                'Tree',
            )
            splits['val' if k % 5 == 4 else 'train'].append(name)
            k += 1
    for name in TEST_IMAGES:
        im = cv2.imread(osp.join(source, name + '.png'))
        cv2.imwrite(osp.join(out, 'JPEGImages', name + '.jpg'), im)
        write_voc(
            osp.join(out, 'Annotations', name + '.xml'),
            name,
            (im.shape[1], im.shape[0]),
            read_voc(osp.join(source, name + '.xml')),
            'Tree',
        )
        splits['test'].append(name)
    for split, names in splits.items():
        with open(
            osp.join(out, 'ImageSets', 'Main', split + '.txt'), 'w'
        ) as f:
            f.write('\n'.join(names) + '\n')
    return {k: len(v) for k, v in splits.items()}


def read_voc_named(path: str) -> List[Tuple[str, Tuple[int, ...]]]:
    """``(class name, box)`` of every object of a VOC annotation file."""
    root = ET.parse(path).getroot()
    return [
        (o.find('name').text.strip(), box)
        for o, box in zip(root.findall('object'), read_voc(path))
    ]


def _csv_images(path: str) -> List[str]:
    """The image file names of one of the raccoon repository's label
    tables (``filename,width,height,class,xmin,...``), sorted."""
    import csv

    with open(path) as f:
        return sorted({row['filename'] for row in csv.DictReader(f)})


def write_photos(source: str, out: str, splits: dict, classes) -> dict:
    """Copy photos with their VOC annotations into the layout: ``splits``
    maps a split to ``(image path, annotation path)`` under ``source``;
    the image size is read from the image (some annotation files give
    0); an annotation naming a class not in ``classes`` is refused.
    Returns the number of images per split."""
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    written = {}
    for split, files in splits.items():
        names = []
        for image, ann in files:
            name = osp.splitext(osp.basename(image))[0]
            if name in written:
                raise ValueError(
                    f'{image} and {written[name]} would both be {name}.jpg'
                )
            written[name] = image
            img = cv2.imread(osp.join(source, image))
            if img is None:
                raise FileNotFoundError(osp.join(source, image))
            objects = read_voc_named(osp.join(source, ann))
            unknown = {c for c, _ in objects} - set(classes)
            if unknown:
                raise ValueError(
                    f'{osp.basename(ann)} names {sorted(unknown)}, not one '
                    f'of {list(classes)}'
                )
            cv2.imwrite(osp.join(out, 'JPEGImages', name + '.jpg'), img)
            write_voc(
                osp.join(out, 'Annotations', name + '.xml'),
                name,
                (img.shape[1], img.shape[0]),
                [b for _, b in objects],
                [c for c, _ in objects],
            )
            names.append(name)
        with open(
            osp.join(out, 'ImageSets', 'Main', split + '.txt'), 'w'
        ) as f:
            f.write('\n'.join(names) + '\n')
    return {k: len(v) for k, v in splits.items()}


def raccoons(source: str, out: str) -> dict:
    """Write the raccoon dataset; the number of images per split."""
    labels = osp.join(source, 'data')
    test = _csv_images(osp.join(labels, 'test_labels.csv'))
    train = _csv_images(osp.join(labels, 'train_labels.csv'))
    splits = {
        'train': [n for k, n in enumerate(train) if k % 5 != 4],
        'val': [n for k, n in enumerate(train) if k % 5 == 4],
        'test': test,
    }
    return write_photos(
        source,
        out,
        {
            split: [
                (
                    osp.join('images', f),
                    osp.join('annotations', osp.splitext(f)[0] + '.xml'),
                )
                for f in files
            ]
            for split, files in splits.items()
        },
        ('raccoon',),
    )


FRUITS = ('apple', 'banana', 'orange')


def fruits(source: str, out: str) -> dict:
    """Write the fruit photos; the number of images per split."""

    def pairs(folder):
        jpgs = sorted(
            f
            for f in os.listdir(osp.join(source, folder))
            if f.endswith('.jpg')
        )
        return [
            (osp.join(folder, f), osp.join(folder, f[:-4] + '.xml'))
            for f in jpgs
        ]

    train = pairs(osp.join('train_zip', 'train'))
    splits = {
        'train': [p for k, p in enumerate(train) if k % 4 != 3],
        'val': [p for k, p in enumerate(train) if k % 4 == 3],
        'test': pairs(osp.join('test_zip', 'test')),
    }
    return write_photos(source, out, splits, FRUITS)


DATASETS = {'neon-trees': neon_trees, 'raccoons': raccoons, 'fruits': fruits}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=sorted(DATASETS))
    parser.add_argument('out_dir')
    parser.add_argument('--source', required=True)
    args = parser.parse_args(argv)
    print(DATASETS[args.dataset](args.source, args.out_dir))


if __name__ == '__main__':
    main()
