"""Datasets: :class:`ImageSizeVOCDataset` (MMDetection's ``VOCDataset``
reading an image's size from the image where its annotation gives 0);
the embedded ``shapes`` dataset generator lives in
:mod:`mmdet_libra_ext.datasets.make_shapes` (run it with ``python -m``)."""

from .image_size_voc_dataset import ImageSizeVOCDataset

__all__ = ['ImageSizeVOCDataset']
