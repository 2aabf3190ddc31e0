"""Datasets: :class:`ImageFileVOCDataset` (MMDetection's ``VOCDataset``
reading each image where it is, not only at ``<id>.jpg``, and its size
from the image where its annotation gives 0);
the embedded ``shapes`` dataset generator lives in
:mod:`mmdet_libra_ext.datasets.make_shapes` (run it with ``python -m``)."""

from .image_file_voc_dataset import ImageFileVOCDataset

__all__ = ['ImageFileVOCDataset']
