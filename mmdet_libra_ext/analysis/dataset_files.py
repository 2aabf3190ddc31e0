"""What a dataset config reads, checked before MMDetection reads it.

``fit_to_data`` runs these first, so that a user's own dataset fails with
the file or the class name at fault instead of a traceback from deep
inside MMDetection (or, for a class, silently):

- :func:`missing_files`: a ``data_root`` folder or an ``ann_file`` (a
  split's list, a COCO json) that is not there;
- :func:`voc_split`: for a Pascal VOC (XML-style) split, the listed ids
  whose annotation or image is missing (MMDetection's ``VOCDataset``
  reads ``<id>.jpg`` whatever the files are), and the class names its
  objects carry, counted, which the config's ``classes`` filter without a
  word.

Local files only: a dataset read through ``backend_args`` or a URL is not
checked.
"""

import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any, Dict, List, Optional


def leaf_configs(dataset: Any) -> List[Any]:
    """The dataset configs under the wrappers (``ConcatDataset``'s
    ``datasets``, ``RepeatDataset``'s and ``ClassBalancedDataset``'s
    ``dataset``)."""
    if 'datasets' in dataset:
        return [leaf for d in dataset['datasets'] for leaf in leaf_configs(d)]
    if 'dataset' in dataset:
        return leaf_configs(dataset['dataset'])
    return [dataset]


def _local(dataset: Any) -> bool:
    root = dataset.get('data_root') or ''
    ann = dataset.get('ann_file') or ''
    return not dataset.get('backend_args') and '://' not in f'{root}{ann}'


def missing_files(dataset: Any) -> List[str]:
    """The ``data_root`` folders and ``ann_file`` files of a dataset config
    (its leaves) that are not there; ``ann_file`` joined to ``data_root``
    as MMEngine's ``BaseDataset`` joins a relative one."""
    out = []
    for d in filter(_local, leaf_configs(dataset)):
        root = d.get('data_root') or ''
        ann = d.get('ann_file') or ''
        path = ann if osp.isabs(ann) else osp.join(root, ann)
        if root and not osp.isdir(root):
            out.append(f'data_root {root!r} is not a folder')
        elif ann and not osp.isfile(path):
            out.append(f'ann_file {ann!r} is not a file ({path})')
    return out


def voc_split(dataset: Any) -> Optional[Dict[str, Any]]:
    """A built XML-style dataset (``lazy_init=True`` is enough: nothing of
    its data list is used) read as MMDetection's ``XMLDataset`` will:
    ``ids`` (how many its ``ann_file`` lists), ``no_xml`` and ``no_image``
    (the paths it will not find), ``names`` (a Counter of its objects'
    class names) and ``classes`` (the config's, a string left a string).
    None for a dataset of another format."""
    if not hasattr(dataset, 'ann_subdir') or not hasattr(
        dataset, 'img_subdir'
    ):
        return None
    from mmengine.fileio import list_from_file

    ids = list_from_file(dataset.ann_file)
    root = dataset.sub_data_root
    no_xml, no_image = [], []
    names: Counter = Counter()
    for img_id in ids:
        xml = osp.join(root, dataset.ann_subdir, f'{img_id}.xml')
        image = osp.join(root, dataset.img_subdir, f'{img_id}.jpg')
        if not osp.isfile(image):
            no_image.append(image)
        if not osp.isfile(xml):
            no_xml.append(xml)
            continue
        for obj in ET.parse(xml).getroot().findall('object'):
            name = obj.find('name')
            names[name.text if name is not None else None] += 1
    return dict(
        ids=len(ids),
        no_xml=no_xml,
        no_image=no_image,
        names=names,
        classes=_classes(dataset.metainfo.get('classes')),
    )


def _classes(classes: Any) -> Any:
    """The config's classes as a tuple; a string (``('raccoon')``, the
    comma forgotten) kept a string, for the caller to refuse."""
    return classes if isinstance(classes, str) else tuple(classes or ())


def split_problems(split: Dict[str, Any], ann_file: str) -> List[str]:
    """What :func:`voc_split` found missing, in words: the first path of
    each kind, how many, and for images another file of the same id where
    there is one (a ``.png`` that ``VOCDataset`` will not read)."""
    out = []
    for key, what in (('no_xml', 'annotations'), ('no_image', 'images')):
        paths = split[key]
        if not paths:
            continue
        line = (
            f'{len(paths)} of the {split["ids"]} ids listed in {ann_file} '
            f'have no {what} (the first: {paths[0]})'
        )
        if key == 'no_image':
            folder, name = osp.split(paths[0])
            stem = osp.splitext(name)[0]
            others = sorted(
                f
                for f in (os.listdir(folder) if osp.isdir(folder) else [])
                if osp.splitext(f)[0] == stem
            )
            if others:
                line += (
                    f"; MMDetection's VOCDataset reads <id>.jpg, and there "
                    f'is {others[0]!r}: convert the images to JPEG'
                )
        out.append(line)
    return out
