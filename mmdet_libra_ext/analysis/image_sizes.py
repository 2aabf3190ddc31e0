"""Annotations that give an image size of 0, read from the images.

MMDetection's ``VOCDataset`` takes each image's size from its annotation
and keeps a ``<width>0</width>``: its training filter (``filter_cfg``'s
``min_size``) then drops the image without a word, and what reads the
sizes (``fit_to_data``'s input scale and test-time caps) reads 0.
``fit_to_data`` finds such annotations
(:func:`~mmdet_libra_ext.analysis.dataset_files.voc_split`) and names
:class:`~mmdet_libra_ext.datasets.ImageSizeVOCDataset`, which reads those
sizes from the images, in the fitted config's datasets, saying why.
"""

from typing import Any, Dict, List, Tuple

from mmdet_libra_ext.utils.config_writer import add_comment

#: The reader that takes a size of 0 from the image (a config type).
SIZE_READER = 'mmdet_libra_ext.ImageSizeVOCDataset'


def read_sizes_from_images(
    splits: Dict[str, List[Dict[str, Any]]],
) -> Tuple[Dict[str, Dict[str, Any]], List[Dict[str, Any]]]:
    """Per dataloader of ``splits``
    (:func:`~.dataset_files.check_data_files`) whose annotations give an
    image size of 0: ``images`` (how many), ``first`` (the first
    annotation) and ``read`` (whether the sizes will be read from the
    images); and the config leaves whose reader is MMDetection's
    ``VOCDataset`` (it keeps the 0, and its training filter drops those
    images), for :func:`use_size_reader`. Another reader is left as it
    is (``read`` False). Reads only: the config is not changed."""
    from mmdet.datasets import VOCDataset

    from mmdet_libra_ext.datasets import ImageSizeVOCDataset

    out: Dict[str, Dict[str, Any]] = {}
    leaves: List[Dict[str, Any]] = []
    for key, splits_of_key in splits.items():
        for split in splits_of_key:
            if not split['zero_size']:
                continue
            info = out.setdefault(
                key, dict(images=0, first=split['zero_size'][0], read=True)
            )
            info['images'] += len(split['zero_size'])
            if split['reader'] is VOCDataset:
                leaves.append(split['config'])
            elif not issubclass(split['reader'], ImageSizeVOCDataset):
                info['read'] = False
    return out, leaves


def use_size_reader(leaves: List[Dict[str, Any]]) -> None:
    """Set each dataset config of ``leaves`` (from
    :func:`read_sizes_from_images`) to :data:`SIZE_READER`."""
    for leaf in leaves:
        leaf['type'] = SIZE_READER


def _text(key: str, info: Dict[str, Any]) -> str:
    found = (
        f'{info["images"]} annotations give the image size 0 (the first: '
        f'{info["first"]}): '
    )
    if not info['read']:
        return (
            f'{found}their reader keeps 0 (training drops those images): '
            f'write the sizes, or read them with {SIZE_READER}'
        )
    dropped = ' and drops those images from training' if 'train' in key else ''
    return (
        f'{found}read from the images by {SIZE_READER} '
        f"(MMDetection's VOCDataset reads 0{dropped})"
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
