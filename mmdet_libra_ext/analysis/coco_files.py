"""A COCO-style split read before MMDetection reads it, for ``fit_to_data``
(:func:`~.dataset_files.check_data_files`): what :func:`~.voc_files.
voc_split` finds of a VOC split, from the split's JSON.

MMDetection's ``CocoDataset`` finds an image missing only when training
first loads it (a traceback from the loader), drops an image whose width
or height is 0 from training without a word (its ``min_size`` filter),
fails on an image without them (a ``KeyError``), and keeps only the
categories named in ``classes``: the recipe's ``('object',)`` left
unchanged gives no training box at all (a numpy error about arrays to
concatenate, deep inside). Read here, each is named with its file.
"""

import json
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional


def coco_split(dataset: Any) -> Optional[Dict[str, Any]]:
    """A built COCO-style dataset (``lazy_init=True`` is enough: its
    ``ann_file`` and ``data_prefix`` are joined to ``data_root`` as they
    will be read) read from its JSON with :func:`~.voc_files.
    voc_split`'s keys: ``ids`` (how many images it lists), ``no_image``
    (their files that are not there, in ``data_prefix['img']``),
    ``bad_size`` (the images without a positive number as ``width`` and
    ``height``, with what they have), ``names`` (a Counter of its
    annotations' category names) and ``classes`` (the config's);
    ``no_xml``, ``other_image``, ``zero_size`` and ``bad_box`` empty (no
    size is read from an image here: a missing one is ``bad_size``; COCO's
    reader drops a box under 1 px itself). None for a dataset of another
    format."""
    from mmdet.datasets import CocoDataset

    from mmdet_libra_ext.analysis.dataset_files import config_classes

    if not isinstance(dataset, CocoDataset):
        return None
    with open(dataset.ann_file) as f:
        data = json.load(f)
    folder = dataset.data_prefix.get('img', '') or ''
    images = data.get('images') or []
    no_image, bad_size = [], []
    for image in images:
        name = image.get('file_name')
        path = osp.join(folder, str(name))
        if name is None or not osp.isfile(path):
            no_image.append(path)
        wh = [image.get(k) for k in ('width', 'height')]
        if not all(_positive(v) for v in wh):
            bad_size.append(
                f'{dataset.ann_file}: image {image.get("id")!r} '
                f'({name}): width {wh[0]!r}, height {wh[1]!r}'
            )
    categories = {
        c.get('id'): c.get('name') for c in data.get('categories') or []
    }
    names: Counter = Counter(
        categories.get(a.get('category_id'))
        for a in data.get('annotations') or []
    )
    return dict(
        ids=len(images),
        no_xml=[],
        no_image=no_image,
        other_image=[],
        zero_size=[],
        bad_size=bad_size,
        bad_box=[],
        names=names,
        classes=config_classes(dataset.metainfo.get('classes')),
    )


def _positive(value: Any) -> bool:
    """Whether a JSON size is a number above 0 (``640`` or ``640.0``:
    MMDetection reads either)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value > 0
    )


def coco_problems(split: Dict[str, Any], ann_file: str) -> List[str]:
    """What :func:`coco_split` found, in words: the first of each kind and
    how many."""
    out = []
    if split['bad_size']:
        out.append(
            f'{len(split["bad_size"])} of the {split["ids"]} images listed '
            f'in {ann_file} have no width and height above 0, which '
            f"MMDetection's CocoDataset needs (it drops an image of size 0 "
            f'from training; the first: '
            f"{split['bad_size'][0]}): write each image's size in pixels"
        )
    if split['no_image']:
        out.append(
            f'{len(split["no_image"])} of the {split["ids"]} images listed '
            f'in {ann_file} are not there (the first: '
            f'{split["no_image"][0]}; file_name is read in the folder '
            "data_root + data_prefix['img'])"
        )
    return out
