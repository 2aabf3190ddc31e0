"""Checkpoints as AdaptToDataHook (versions up to 0.2) left them, its
choices under the ``adapt_to_data`` key, for the tests of how such runs are
carried on."""

import json
import os.path as osp

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The own-dataset recipe's config (its RPN anchors: scales=[8]).
OWN_CONFIG = osp.join(
    ROOT,
    'configs',
    'own_dataset_scratch',
    'faster-rcnn_r18_fpn_adaptive-voc.py',
)
#: Fitted RPN anchors (the config's strides and three ratios).
FIT = dict(
    type='AnchorGenerator',
    scales=[4.0],
    ratios=[0.8, 1.0, 1.25],
    strides=[4, 8, 16, 32, 64],
)
CHOICES = dict(
    num_images=23,
    num_boxes=379,
    boxes_per_mpx=212.5,
    input_scale=dict(scale=1.4375),
    anchors=dict(rpn_head=dict(cfg=FIT, changed=True)),
)


def save_adapted(path, state_dict=None, choices=CHOICES) -> str:
    """A checkpoint at ``path`` with ``choices``; returns the path."""
    torch.save(
        dict(state_dict=state_dict or {}, adapt_to_data=json.dumps(choices)),
        str(path),
    )
    return str(path)
