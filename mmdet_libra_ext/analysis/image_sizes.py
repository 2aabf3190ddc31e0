"""Annotations whose image is not ``<id>.jpg`` or whose image size is 0:
read from the image files.

MMDetection's ``VOCDataset`` reads each id's image at ``<id>.jpg`` (a
``.png`` named in the annotation's ``<filename>`` fails to load) and takes
each image's size from its annotation, keeping a ``<width>0</width>``: its
training filter (``filter_cfg``'s ``min_size``) then drops the image
without a word, and what reads the sizes (``fit_to_data``'s input scale
and test-time caps) reads 0. ``fit_to_data`` finds such annotations
(:func:`~mmdet_libra_ext.analysis.voc_files.voc_split`) and names
:class:`~mmdet_libra_ext.datasets.ImageFileVOCDataset`, which finds those
images and reads those sizes from them, in the fitted config's datasets,
saying why.
"""

from typing import Any, Dict, List, Tuple

from mmdet_libra_ext.utils.config_writer import add_comment

#: The reader that finds an image at another name and takes a size of 0
#: from the image (a config type).
IMAGE_FILE_READER = 'mmdet_libra_ext.ImageFileVOCDataset'


def read_sizes_from_images(
    splits: Dict[str, List[Dict[str, Any]]],
) -> Tuple[Dict[str, Dict[str, Any]], List[Dict[str, Any]]]:
    """Per dataloader of ``splits``
    (:func:`~.dataset_files.check_data_files`) whose annotations give an
    image size of 0 or whose images are not ``<id>.jpg``: ``images`` and
    ``files`` (how many of each), ``first`` and ``first_file`` (the first
    annotation, the first image) and ``read`` (whether the reader will
    read them); and the config leaves whose reader is MMDetection's
    ``VOCDataset`` (it keeps the 0, and its training filter drops those
    images; it reads ``<id>.jpg`` only), for :func:`use_image_file_reader`.
    Another reader is left as it is (``read`` False). Reads only: the
    config is not changed."""
    from mmdet.datasets import VOCDataset

    from mmdet_libra_ext.datasets import ImageFileVOCDataset

    out: Dict[str, Dict[str, Any]] = {}
    leaves: List[Dict[str, Any]] = []
    for key, splits_of_key in splits.items():
        for split in splits_of_key:
            zero, other = split['zero_size'], split['other_image']
            if not zero and not other:
                continue
            info = out.setdefault(
                key,
                dict(
                    images=0, first=None, files=0, first_file=None, read=True
                ),
            )
            info['images'] += len(zero)
            info['files'] += len(other)
            info['first'] = info['first'] or (zero or [None])[0]
            info['first_file'] = info['first_file'] or (other or [None])[0]
            if split['reader'] is VOCDataset:
                leaves.append(split['config'])
            elif not issubclass(split['reader'], ImageFileVOCDataset):
                info['read'] = False
    return out, leaves


def use_image_file_reader(leaves: List[Dict[str, Any]]) -> None:
    """Set each dataset config of ``leaves`` (from
    :func:`read_sizes_from_images`) to :data:`IMAGE_FILE_READER`."""
    for leaf in leaves:
        leaf['type'] = IMAGE_FILE_READER


def _text(key: str, info: Dict[str, Any]) -> str:
    found, does, fix = [], [], []
    if info.get('files'):
        found.append(
            f'{info["files"]} images are not <id>.jpg (the first: '
            f'{info["first_file"]})'
        )
        does.append('reads <id>.jpg only')
        fix.append('name the images <id>.jpg')
    if info['images']:
        found.append(
            f'{info["images"]} annotations give the image size 0 (the '
            f'first: {info["first"]})'
        )
        train = 'train' in key
        does.append(
            'keeps 0' + (' (training drops those images)' if train else '')
        )
        fix.append('write the sizes')
    said = '; '.join(found)
    if not info['read']:
        return (
            f'{said}: their reader {" and ".join(does)}: '
            f'{" and ".join(fix)}, or read them with {IMAGE_FILE_READER}'
        )
    return (
        f'{said}: read from the files by {IMAGE_FILE_READER} '
        f"(MMDetection's VOCDataset {' and '.join(does)})"
    )


def size_lines(sizes: Dict[str, Dict[str, Any]]) -> List[str]:
    """What :func:`read_sizes_from_images` found, one line per dataloader,
    for fit_to_data's summary."""
    return [f'{key}: {_text(key, info)}' for key, info in sizes.items()]


def add_comments(
    comments: Dict[Tuple[str, ...], str], sizes: Dict[str, Dict[str, Any]]
) -> None:
    """Each dataloader's reading after its comment in the fitted config
    (``comments``: config path to text)."""
    for key, info in sizes.items():
        add_comment(comments, (key,), f'Reader: {_text(key, info)}.')
