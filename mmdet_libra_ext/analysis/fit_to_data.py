"""Fit a detector config to its training boxes and write the result as a
plain child config (``tools/analysis_tools/fit_to_data.py``).

What is fitted (docs/own_dataset.md):

- the input scale: every ``Resize`` of the config's pipelines resizes by
  one factor (images of one size: tiles, slides, frames of one sensor) or
  each image to one long side (images whose sizes spread: photos of many
  cameras), the small objects (10th percentile) at least ``smallest``
  pixels, the large ones (90th) at most ``largest``, the long side at most
  ``max_long_side``;
- the anchors of each head with an ``AnchorGenerator``, where their best
  possible recall on the boxes at that scale is below ``bpr_target``;
- the test-time caps on the boxes kept per image, where the largest image
  to evaluate, as dense as the densest training image, could hold more than
  half the final cap.

The options are the config's ``fit_to_data`` dict (:data:`DEFAULTS` where
absent). :mod:`~mmdet_libra_ext.analysis.fitted_config` writes the choices
into the child config.
"""

import copy
import math
from typing import Any, Dict, List, Optional, Tuple

import torch

from mmdet_libra_ext.analysis import box_stats as S
from mmdet_libra_ext.analysis import dataset_files as F
from mmdet_libra_ext.analysis import image_orientation, image_sizes
from mmdet_libra_ext.utils.checks import check_known_options
from mmdet_libra_ext.utils.config_writer import plain

#: The fitting options and their defaults (a config's ``fit_to_data``).
DEFAULTS = dict(
    input_scale=True,
    resize='auto',
    anchors=True,
    smallest=24.0,
    largest=320.0,
    max_long_side=1333.0,
    bpr_thr=0.5,
    bpr_target=0.95,
)
#: How the input scale is fitted: ``'factor'`` (every image by one
#: factor), ``'long_side'`` (each image to one long side), ``'auto'`` (the
#: latter where the training images' long sides spread by more than
#: :data:`~.box_stats.SIZE_SPREAD`).
RESIZE_MODES = ('auto', 'factor', 'long_side')
#: Heads whose anchor generator is fitted.
HEADS = ('rpn_head', 'bbox_head')
#: The config key of the record of what was fitted.
RECORD_KEY = 'fitted_to_data'


def fit_options(cfg: Any) -> Dict[str, Any]:
    """The config's ``fit_to_data`` options over :data:`DEFAULTS`, checked:
    a misspelled or bad value is refused naming it."""
    given = dict(cfg.get('fit_to_data') or {})
    check_known_options('fit_to_data', given, DEFAULTS)
    opts = dict(DEFAULTS, **given)
    for name in ('input_scale', 'anchors'):
        if not isinstance(opts[name], bool):
            raise TypeError(
                f'fit_to_data: {name} must be True or False, got '
                f'{name}={opts[name]!r}'
            )
    if opts['resize'] not in RESIZE_MODES:
        raise ValueError(
            f'fit_to_data: resize must be one of {RESIZE_MODES}, got '
            f'resize={opts["resize"]!r}'
        )
    for name in ('smallest', 'largest', 'max_long_side'):
        v = opts[name]
        if not _number(v) or not 0 < v < math.inf:
            raise ValueError(
                f'fit_to_data: {name} must be a finite positive number, got '
                f'{name}={v!r}'
            )
    for name in ('bpr_thr', 'bpr_target'):
        v = opts[name]
        if not _number(v) or not 0 < v <= 1:
            raise ValueError(
                f'fit_to_data: {name} must be in (0, 1], got {name}={v!r}'
            )
    if opts['smallest'] >= opts['largest']:
        raise ValueError(
            f'fit_to_data: smallest={opts["smallest"]!r} must be below '
            f'largest={opts["largest"]!r}'
        )
    return opts


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _build(cfg: Any, key: str) -> Optional[Any]:
    """The dataset of ``cfg[key]`` (a dataloader), built, or None."""
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    loader = cfg.get(key)
    if not loader or not loader.get('dataset'):
        return None
    with DefaultScope.overwrite_default_scope(F.default_scope(cfg)):
        return DATASETS.build(copy.deepcopy(loader['dataset']))


def _generator_key(head: Any) -> Optional[str]:
    for key in ('anchor_generator', 'prior_generator'):
        if head.get(key) is not None:
            return key
    return None


def cap_paths(cfg: Any) -> List[Tuple[str, ...]]:
    """The config paths of the test-time caps, the final cap last but for
    test-time augmentation's: the RPN's ``nms_pre`` and ``max_per_img`` and
    the second stage's ``max_per_img`` (``model.test_cfg.rpn``/``rcnn``), a
    one-stage detector's (``model.test_cfg``), ``tta_model.tta_cfg``'s."""
    test_cfg = cfg.model.get('test_cfg') or {}
    parts: List[Tuple[str, ...]] = []
    if 'rpn' in test_cfg or 'rcnn' in test_cfg:
        parts += [('model', 'test_cfg', p) for p in ('rpn', 'rcnn')]
    else:
        parts.append(('model', 'test_cfg'))
    parts.append(('tta_model', 'tta_cfg'))
    out = []
    for part in parts:
        node = _get(cfg, part)
        if isinstance(node, dict) or hasattr(node, 'keys'):
            out += [
                part + (k,) for k in ('nms_pre', 'max_per_img') if k in node
            ]
    return out


def _get(cfg: Any, path: Tuple[str, ...]) -> Any:
    node = cfg
    for k in path:
        if node is None or k not in node:
            return None
        node = node[k]
    return node


def _set(cfg: Any, path: Tuple[str, ...], value: Any) -> None:
    node = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def choose(cfg: Any, opts: Dict[str, Any]) -> Dict[str, Any]:
    """What ``opts`` (:func:`fit_options`) choose for the config's training
    boxes: ``num_images``, ``num_boxes``, ``boxes_per_mpx``, the
    ``input_scale`` (:func:`~.box_stats.choose_input_scale`) or the
    ``pipeline_scale`` the config's own ``Resize`` gives, the ``anchors``
    per head (:func:`~.box_stats.choose_anchors`), the test-time
    ``caps`` (:func:`caps_for`) and the ``image_sizes`` read from the
    images (:func:`~.image_sizes.read_sizes_from_images`; the readers
    that need it are set in ``cfg``) and the training images'
    ``orientation`` (:func:`~.image_orientation.read_orientations`)."""
    splits = F.check_data_files(cfg)
    names = F.class_names(splits.get('train_dataloader', []))
    read, leaves = image_sizes.read_sizes_from_images(splits)
    image_sizes.use_image_file_reader(leaves)
    dataset = _build(cfg, 'train_dataloader')
    if dataset is None:
        raise ValueError('fit_to_data: the config has no train_dataloader')
    images = S.dataset_instances(dataset)
    boxes = [b for _, b, _ in images]
    wh = S.box_wh(torch.cat(boxes)) if boxes else torch.zeros(0, 2)
    if len(wh) == 0:
        raise ValueError('fit_to_data: the training set has no box to fit')
    long_side = max(max(size) for _, _, size in images)
    if long_side <= 0:
        raise ValueError(
            'fit_to_data: the training annotations give no image size '
            '(width, height)'
        )
    choices: Dict[str, Any] = dict(
        classes=names,
        num_images=len(images),
        num_boxes=int(len(wh)),
        boxes_per_mpx=S.boxes_per_mpx(images),
    )
    if read:
        choices['image_sizes'] = read
    found = image_orientation.read_orientations(
        image_orientation.training_images(dataset, splits)
    )
    if found:
        choices['orientation'] = found
    sizes = [size for _, _, size in images]
    if opts['input_scale'] and _resize_mode(opts['resize'], sizes) == (
        'long_side'
    ):
        longs = [float(max(size)) for size in sizes]
        rel = torch.cat(
            [
                S.box_wh(b).prod(1).sqrt() / m
                for (_, b, _), m in zip(images, longs)
            ]
        )
        sc = S.choose_input_long_side(
            rel,
            longs,
            opts['smallest'],
            opts['largest'],
            opts['max_long_side'],
        )
        choices['input_scale'] = sc
        seen = torch.cat(
            [
                S.box_wh(b) * (sc['long_side'] / m)
                for (_, b, _), m in zip(images, longs)
            ]
        )
    elif opts['input_scale']:
        sc = S.choose_input_scale(
            wh,
            float(long_side),
            opts['smallest'],
            opts['largest'],
            opts['max_long_side'],
        )
        choices['input_scale'] = sc
        seen = wh * sc['scale']
    else:
        seen = wh
        resize = S.first_resize(dataset)
        if resize is not None:
            seen, choices['pipeline_scale'] = S.resized_wh(images, resize)
    anchors = {}
    for name in HEADS:
        head = cfg.model.get(name)
        key = _generator_key(head) if head else None
        if key is None or 'ratios' not in head[key]:
            continue  # no head, or not an AnchorGenerator
        anchors[name] = S.choose_anchors(
            seen,
            plain(head[key]),
            opts['bpr_thr'],
            opts['bpr_target'] if opts['anchors'] else 0.0,
        )
    choices['anchors'] = anchors
    choices['caps'] = caps_for(cfg, choices['boxes_per_mpx'])
    return choices


def _resize_mode(mode: str, sizes: List[Tuple[int, int]]) -> str:
    """``mode``, or for ``'auto'`` the one the images' sizes call for
    (``'long_side'`` where their long sides spread by more than
    :data:`~.box_stats.SIZE_SPREAD`). An image of unknown size leaves one
    factor."""
    unknown = sum(min(size) <= 0 for size in sizes)
    if unknown and mode == 'long_side':
        raise ValueError(
            f"fit_to_data: resize='long_side' needs every training image's "
            f'size, and {unknown} of {len(sizes)} have none in their '
            'annotations'
        )
    if mode != 'auto' or unknown:
        return 'factor' if unknown else mode
    spread = S.long_side_spread([max(size) for size in sizes])
    return 'long_side' if spread > S.SIZE_SPREAD else 'factor'


def caps_for(cfg: Any, per_mpx: float) -> Dict[str, Any]:
    """One factor for every test-time cap (:func:`cap_paths`) so that the
    largest image of the validation and test sets, ``per_mpx`` boxes per
    megapixel dense, may keep twice its boxes
    (:func:`~.box_stats.detection_cap`); never below 1."""
    area = 0
    for key in ('val_dataloader', 'test_dataloader'):
        dataset = _build(cfg, key)
        if dataset is not None:
            area = max(
                [area]
                + [w * h for _, _, (w, h) in S.dataset_instances(dataset)]
            )
    paths = cap_paths(cfg)
    finals = [p for p in paths if p[-1] == 'max_per_img' and p[0] == 'model']
    need = S.detection_cap(per_mpx, area)
    final = _get(cfg, finals[-1]) if finals else None
    factor = need / final if final and need > final else 1.0
    return dict(
        boxes_per_mpx=per_mpx,
        largest_mpx=area / 1e6,
        factor=factor,
        caps={'.'.join(p): math.ceil(_get(cfg, p) * factor) for p in paths},
    )
