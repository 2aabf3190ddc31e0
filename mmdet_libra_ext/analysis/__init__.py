"""What the analysis tools read from a config and its data: the samples a
config's assigners and samplers see, image by image."""

from .sampling_data import (
    anchors,
    assigned_images,
    coco_scale_image,
    load_config,
    rpn_samplers,
    synthetic_proposals,
)

__all__ = [
    'anchors',
    'assigned_images',
    'coco_scale_image',
    'load_config',
    'rpn_samplers',
    'synthetic_proposals',
]
