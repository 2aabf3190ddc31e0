"""What a dataset config reads, checked before MMDetection reads it.

``fit_to_data`` runs these first (:func:`check_data_files`,
:func:`class_names`), so that a user's own dataset fails with the file or
the class name at fault instead of a traceback from deep inside
MMDetection (or, for a class, silently):

- :func:`missing_files`: a ``data_root`` folder or an ``ann_file`` (a
  split's list, a COCO json) that is not there;
- :func:`~mmdet_libra_ext.analysis.voc_files.voc_split`: for a Pascal
  VOC (XML-style) split, the listed ids whose annotation or image is
  missing, the class names its objects carry, the sizes and boxes
  MMDetection cannot read or train;
- :func:`~mmdet_libra_ext.analysis.coco_files.coco_split`: the same of a
  COCO split, from its JSON (the images missing, without a size, the
  category names).

Local files only: a dataset read through ``backend_args`` or a URL is not
checked.
"""

import copy
import os.path as osp
from collections import Counter
from typing import Any, Dict, List


def leaf_configs(dataset: Any) -> List[Any]:
    """The dataset configs under the wrappers (``ConcatDataset``'s
    ``datasets``, ``RepeatDataset``'s and ``ClassBalancedDataset``'s
    ``dataset``)."""
    if 'datasets' in dataset:
        return [leaf for d in dataset['datasets'] for leaf in leaf_configs(d)]
    if 'dataset' in dataset:
        return leaf_configs(dataset['dataset'])
    return [dataset]


def is_local(leaf: Any) -> bool:
    """Whether a dataset config (a leaf) reads local files: not through a
    storage backend (``backend_args``) nor from a URL."""
    where = f'{leaf.get("data_root") or ""}{leaf.get("ann_file") or ""}'
    return not leaf.get('backend_args') and '://' not in where


def missing_files(dataset: Any) -> List[str]:
    """The ``data_root`` folders and ``ann_file`` files of a dataset config
    (its leaves) that are not there; ``ann_file`` joined to ``data_root``
    as MMEngine's ``BaseDataset`` joins a relative one."""
    out = []
    for d in leaf_configs(dataset):
        root = d.get('data_root') or ''
        ann = d.get('ann_file') or ''
        if not is_local(d):
            continue
        path = ann if osp.isabs(ann) else osp.join(root, ann)
        if root and not osp.isdir(root):
            out.append(f'data_root {root!r} is not a folder')
        elif ann and not osp.isfile(path):
            out.append(f'ann_file {ann!r} is not a file ({path})')
    return out


def config_classes(classes: Any) -> Any:
    """The config's classes as a tuple; a string (``('raccoon')``, the
    comma forgotten) kept a string, for the caller to refuse."""
    return classes if isinstance(classes, str) else tuple(classes or ())


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def default_scope(cfg: Any) -> str:
    """The registry scope a config's datasets are built in (its
    ``default_scope``, MMDetection's where it has none)."""
    return cfg.get('default_scope') or 'mmdet'


def check_data_files(cfg: Any) -> Dict[str, List[Dict[str, Any]]]:
    """Check what each dataloader's dataset reads (built under the
    config's :func:`default_scope`) and raise a ValueError naming every
    missing data root, split list, annotation or image with its
    dataloader, before
    MMDetection's dataset fails deep inside on the first of them (a
    VOC-layout dataset needs a list of image ids per split,
    ``ImageSets/Main/{train,val,test}.txt``: the recipe trains on train,
    keeps the checkpoint best on val and tests on test). Returns each
    dataloader's VOC and COCO splits (:func:`~.voc_files.voc_split`,
    :func:`~.coco_files.coco_split`)."""
    from mmdet.datasets import CocoDataset, XMLDataset
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    from mmdet_libra_ext.analysis.coco_files import coco_problems, coco_split
    from mmdet_libra_ext.analysis.voc_files import split_problems, voc_split

    problems: List[str] = []
    splits: Dict[str, List[Dict[str, Any]]] = {}
    for key in LOADERS:
        if not (cfg.get(key) and cfg[key].get('dataset')):
            continue
        missing = missing_files(cfg[key]['dataset'])
        problems += [f'{key}: {m}' for m in missing]
        if missing:
            continue
        splits[key] = []
        for leaf in leaf_configs(cfg[key]['dataset']):
            if not is_local(leaf):
                continue  # read through a backend or a URL: not checked
            with DefaultScope.overwrite_default_scope(default_scope(cfg)):
                cls = DATASETS.get(leaf.get('type'))
                if not (
                    isinstance(cls, type)
                    and issubclass(cls, (XMLDataset, CocoDataset))
                ):
                    continue  # VOC-style (XML) and COCO splits are read
                ds = DATASETS.build(dict(copy.deepcopy(leaf), lazy_init=True))
            split, describe = voc_split(ds), split_problems
            if split is None:
                split, describe = coco_split(ds), coco_problems
            if split is not None:
                splits[key].append(dict(split, config=leaf, reader=cls))
                problems += [
                    f'{key}: {p}'
                    for p in describe(split, leaf.get('ann_file'))
                ]
    if problems:
        raise ValueError(
            'fit_to_data: ' + '; '.join(problems) + '. Each split the '
            'config reads must exist (in VOC layout '
            'ImageSets/Main/<split>.txt, one image id per line, with '
            'Annotations/<id>.xml and JPEGImages/<id>.jpg or the image '
            "the annotation's <filename> names; in COCO layout the "
            "split's JSON, the images its file_name names in "
            "data_prefix['img']; docs/own_dataset.md, step 1)"
        )
    return splits


def class_names(splits: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The training splits' class names against the config's ``classes``:
    ``unlisted`` (names the annotations give and ``classes`` lacks, with
    their boxes: MMDetection's VOCDataset drops them without a word) and
    ``without_boxes`` (classes no training object names). Raises a
    ValueError when no training object has a class of ``classes`` (the
    recipe's ``classes`` left unchanged, a misspelling)."""
    for split in splits:
        if isinstance(split['classes'], str):
            raise ValueError(
                f'fit_to_data: classes is the string {split["classes"]!r}, '
                f'read as {len(split["classes"])} one-letter classes: '
                f'write a tuple, classes = ({split["classes"]!r},)'
            )
    names: Counter = Counter()
    for split in splits:
        names.update(split['names'])
    classes = [c for split in splits for c in split['classes']]
    listed = sum(names[c] for c in set(classes))
    unlisted = {str(n): k for n, k in names.most_common() if n not in classes}
    if names and not listed:
        raise ValueError(
            f'fit_to_data: no training object has a class of the '
            f"config's classes {tuple(dict.fromkeys(classes))}; the "
            f'annotations name {_boxes(unlisted)}: set classes to the '
            'names to train'
        )
    return dict(
        unlisted=unlisted,
        without_boxes=[c for c in dict.fromkeys(classes) if not names[c]],
    )


def class_lines(names: Dict[str, Any]) -> List[str]:
    """What :func:`class_names` found, for fit_to_data's summary."""
    lines = []
    if names.get('unlisted'):
        lines.append(
            'left out of training and evaluation, not in classes: '
            f'{_boxes(names["unlisted"])} (add them to classes to train them)'
        )
    if names.get('without_boxes'):
        lines.append(
            'classes with no training box: '
            + ', '.join(map(repr, names['without_boxes']))
            + ' (misspelled? they cannot be learnt)'
        )
    return lines


def _boxes(counts: Dict[str, int]) -> str:
    return ', '.join(f'{n!r} ({k} boxes)' for n, k in counts.items())
