"""A Pascal VOC (XML-style) split read before MMDetection reads it, for
``fit_to_data`` (:func:`~.dataset_files.check_data_files`): the listed ids
whose annotation or image is missing (MMDetection's ``VOCDataset`` reads
``<id>.jpg`` whatever the files are), the class names its objects carry,
counted (the config's ``classes`` filter them without a word), the
annotations whose ``<size>`` MMDetection cannot read (a crash inside it)
or reads as 0 (the image dropped from training:
:mod:`~mmdet_libra_ext.analysis.image_sizes`), and the boxes it cannot
train. The COCO twin: :mod:`~mmdet_libra_ext.analysis.coco_files`.
"""

import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any, Dict, List, Optional

from mmdet_libra_ext.analysis.dataset_files import config_classes


def voc_split(dataset: Any) -> Optional[Dict[str, Any]]:
    """A built XML-style dataset (``lazy_init=True`` is enough: nothing of
    its data list is used) read as MMDetection's ``XMLDataset`` will:
    ``ids`` (how many its ``ann_file`` lists), ``no_xml`` (the annotations
    it will not find), ``no_image`` (the ids' ``<id>.jpg`` where no image
    of the id is there at all), ``other_image`` (the images found at
    another name: the annotation's ``<filename>`` or another extension,
    :func:`~mmdet_libra_ext.datasets.image_file_voc_dataset.image_file`,
    which ``VOCDataset`` will not read), ``zero_size`` (the annotations whose
    ``<size>`` gives a width or height of 0 or less), ``bad_size`` (those
    whose ``<size>`` has no whole-number width and height, with what it
    has), ``bad_box`` (the objects whose ``<bndbox>`` has a corner missing
    or not a number, or a maximum below its minimum), ``names`` (a Counter
    of its objects' class names) and ``classes`` (the config's, a string
    left a string). None for a dataset of another format."""
    if not hasattr(dataset, 'ann_subdir') or not hasattr(
        dataset, 'img_subdir'
    ):
        return None
    from mmengine.fileio import list_from_file

    from mmdet_libra_ext.datasets.image_file_voc_dataset import image_file

    ids = list_from_file(dataset.ann_file)
    root = dataset.sub_data_root
    no_xml, no_image, other_image, zero_size, bad_size = [], [], [], [], []
    bad_box: List[str] = []
    names: Counter = Counter()
    for img_id in ids:
        xml = osp.join(root, dataset.ann_subdir, f'{img_id}.xml')
        default = osp.join(dataset.img_subdir, f'{img_id}.jpg')
        found = image_file(root, dataset.img_subdir, img_id, xml)
        if found is None:
            no_image.append(osp.join(root, default))
        elif found != default:
            other_image.append(osp.join(root, found))
        if not osp.isfile(xml):
            no_xml.append(xml)
            continue
        ann = ET.parse(xml).getroot()
        size = ann.find('size')
        if size is not None:  # MMDetection reads int(<width>), int(<height>)
            wh = [size.findtext(k) for k in ('width', 'height')]
            if not all(_whole(v) for v in wh):
                bad_size.append(f'{xml}: width {wh[0]!r}, height {wh[1]!r}')
            elif min(int(v or 0) for v in wh) <= 0:
                zero_size.append(xml)
        for obj in ann.findall('object'):
            name = obj.find('name')
            names[name.text if name is not None else None] += 1
            wrong = _box_problem(obj.find('bndbox'))
            if wrong:
                bad_box.append(f'{xml}: {wrong}')
    return dict(
        ids=len(ids),
        no_xml=no_xml,
        no_image=no_image,
        other_image=other_image,
        zero_size=zero_size,
        bad_size=bad_size,
        bad_box=bad_box,
        names=names,
        classes=config_classes(dataset.metainfo.get('classes')),
    )


def _box_problem(box: Any) -> Optional[str]:
    """What MMDetection cannot train of an object's ``<bndbox>`` (it reads
    ``int(float(...))`` of each corner): a corner missing or not a number
    (a crash inside it), or a maximum below its minimum (a box of negative
    size, whose regression target is the log of a negative number)."""
    keys = ('xmin', 'ymin', 'xmax', 'ymax')
    text = [box.findtext(k) if box is not None else None for k in keys]
    try:
        x1, y1, x2, y2 = (float(t) for t in text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 'a <bndbox> without four numbers: ' + ', '.join(
            f'{k} {t!r}' for k, t in zip(keys, text)
        )
    if x2 < x1 or y2 < y1:
        return (
            f'a box whose maximum is below its minimum: xmin {text[0]}, '
            f'xmax {text[2]}, ymin {text[1]}, ymax {text[3]}'
        )
    return None


def _whole(text: Optional[str]) -> bool:
    """Whether ``int(text)`` reads it, as MMDetection's reader does."""
    try:
        int(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def split_problems(split: Dict[str, Any], ann_file: str) -> List[str]:
    """What :func:`voc_split` found missing, in words: the first path of
    each kind and how many (an image is missing where no file of its id
    is there: one at another name is ``other_image``, read by
    ``ImageFileVOCDataset``)."""
    out = []
    if split['bad_box']:
        out.append(
            f'{len(split["bad_box"])} objects of the annotations listed in '
            f'{ann_file} have a box MMDetection cannot train (the first: '
            f'{split["bad_box"][0]}): correct or remove them'
        )
    if split['bad_size']:
        out.append(
            f'{len(split["bad_size"])} of the {split["ids"]} annotations '
            f'listed in {ann_file} have a <size> without whole-number '
            f'<width> and <height>, which MMDetection reads with int() (the '
            f'first: {split["bad_size"][0]}): write the sizes in pixels, or '
            f'remove <size> (the size is then read from the image)'
        )
    for key, what in (('no_xml', 'annotations'), ('no_image', 'images')):
        paths = split[key]
        if not paths:
            continue
        line = (
            f'{len(paths)} of the {split["ids"]} ids listed in {ann_file} '
            f'have no {what} (the first: {paths[0]})'
        )
        if key == 'no_image':
            line += (
                ', nor one at the <filename> of their annotation or with '
                'another image extension'
            )
        out.append(line)
    return out
