"""The config :mod:`~mmdet_libra_ext.analysis.fit_to_data` chooses for,
written as a plain child config: it inherits the given one and holds each
fitted value with a comment giving the figures it came from, and a
``fitted_to_data`` record of them; MMDetection's tools read it as any
other config (``tools/analysis_tools/fit_to_data.py``)."""

import copy
import datetime
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

from mmdet_libra_ext.analysis import dataset_files as F
from mmdet_libra_ext.analysis import image_orientation, image_sizes
from mmdet_libra_ext.analysis.fit_to_data import (
    RECORD_KEY,
    _generator_key,
    _set,
    caps_for,
    choose,
    fit_options,
)
from mmdet_libra_ext.utils.checkpoint import legacy_fit_choices
from mmdet_libra_ext.utils.config_writer import (
    child_config_text,
    config_changes,
    config_dicts,
    plain,
)


def fitted_path(config: str) -> str:
    """Where ``tools/analysis_tools/fit_to_data.py`` writes the fitted
    config of ``config`` by default: beside it, ``<name>_fitted.py``."""
    stem, ext = osp.splitext(config)
    return f'{stem}_fitted{ext or ".py"}'


def needs_fitting(cfg: Any) -> bool:
    """Whether ``cfg`` is a recipe to fit to its data (it has
    ``fit_to_data`` options) that has not been fitted (no record)."""
    return cfg.get('fit_to_data') is not None and cfg.get(RECORD_KEY) is None


def _set_scale(node: Any, scale: float, long_side: bool = False) -> int:
    """Every ``Resize`` in a (nested) config resizes by ``scale`` (or,
    ``long_side``, each image to a long side of ``scale`` px, keeping its
    aspect ratio); returns how many."""
    n = 0
    for d in config_dicts(node):
        if d.get('type') in ('Resize', 'mmdet.Resize'):
            if long_side:
                d.pop('scale_factor', None)
                d['scale'] = (int(scale), int(scale))
                d['keep_ratio'] = True
            else:
                d.pop('scale', None)
                d['scale_factor'] = scale
            n += 1
    return n


#: Resizing transforms the fitted input scale does not replace (their
#: sizes are the config's choice of augmentation); reported where found.
OTHER_RESIZES = ('RandomResize', 'RandomChoiceResize', 'ResizeShortestEdge')


def other_resizes(node: Any) -> List[str]:
    """The types of :data:`OTHER_RESIZES` in a (nested) config, once
    each."""
    kinds = {str(d.get('type', '')).split('.')[-1] for d in config_dicts(node)}
    return sorted(kinds & set(OTHER_RESIZES))


#: The config's keys whose pipelines are resized by the fitted scale.
PIPELINE_KEYS = (
    'train_dataloader',
    'val_dataloader',
    'test_dataloader',
    'tta_pipeline',
    'train_pipeline',
    'test_pipeline',
)


def fitted(cfg: Any, choices: Dict[str, Any]) -> Tuple[Any, Dict]:
    """A copy of ``cfg`` with ``choices`` written in, and the comments
    (config path to text) giving the figures of each fitted value."""
    cfg = copy.deepcopy(cfg)
    comments: Dict[Tuple[str, ...], str] = {}
    sc = choices.get('input_scale')
    if sc is not None and sc.get('mode') == 'long_side':
        why = (
            f'Input scale: the {choices["num_boxes"]} training boxes have '
            f'sizes p10/p50/p90 {sc["size_p10"]:.0f}/{sc["size_p50"]:.0f}/'
            f"{sc['size_p90']:.0f} px at this scale; the training images' "
            f'long sides spread from {sc["image_long_p10"]:.0f} to '
            f'{sc["image_long_p90"]:.0f} px (p10 to p90). Every Resize '
            f'resizes each image to a long side of {sc["long_side"]:.0f} px.'
        )
        for key in PIPELINE_KEYS:
            if cfg.get(key) and _set_scale(cfg[key], sc['long_side'], True):
                comments[(key,)] = why
    elif sc is not None:
        why = (
            f'Input scale: the {choices["num_boxes"]} training boxes have '
            f'sizes p10/p50/p90 {sc["size_p10"]:.0f}/{sc["size_p50"]:.0f}/'
            f'{sc["size_p90"]:.0f} px. Every Resize resizes by '
            f'{sc["scale"]} (the largest training image to a long side of '
            f'{sc["long_side"]:.0f} px).'
            if 'size_p10' in sc
            else f"Input scale: the checkpoint's. Every Resize resizes by "
            f'{sc["scale"]}.'
        )
        for key in PIPELINE_KEYS:
            if cfg.get(key) and _set_scale(cfg[key], sc['scale']):
                comments[(key,)] = why

    for name, fit in choices.get('anchors', {}).items():
        head = cfg.model.get(name)
        gen_key = _generator_key(head) if head else None
        if not fit['changed'] or gen_key is None:
            continue  # kept, or a head this config does not have
        head[gen_key] = fit['cfg']
        b, a = fit.get('before'), fit.get('after')
        comments[('model', name, gen_key)] = (
            f'Anchors: best possible recall of the training boxes '
            f'{b["bpr"]:.3f} (mean best IoU {b["mean_best_iou"]:.3f}) -> '
            f'{a["bpr"]:.3f} ({a["mean_best_iou"]:.3f}).'
            if a and b
            else 'Anchors: those the checkpoint was trained with.'
        )
    caps = choices.get('caps') or {}
    if caps.get('factor', 1.0) > 1:
        for path, v in caps['caps'].items():
            _set(cfg, tuple(path.split('.')), v)
        why = (
            f'Test-time caps x{caps["factor"]:.2f}: the densest training '
            f'image holds {caps["boxes_per_mpx"]:.0f} boxes per megapixel, '
            f'the largest image to evaluate {caps["largest_mpx"]:.2f} Mpx.'
        )
        comments[('model', 'test_cfg')] = why
        comments[('tta_model', 'tta_cfg')] = why
    image_sizes.add_comments(comments, choices.get('image_sizes') or {})
    found = choices.get('orientation') or {}
    image_orientation.add_orientation(cfg, found, comments, PIPELINE_KEYS)
    if sc is not None:
        kept = other_resizes([cfg.get(k) for k in PIPELINE_KEYS])
        if kept:
            choices['kept_resizes'] = kept
    cfg[RECORD_KEY] = record(choices)
    return cfg, comments


def summary_lines(choices: Dict[str, Any]) -> List[str]:
    """What ``choices`` say, one line per fitted value, for the log."""
    lines = [
        f'{choices.get("num_boxes", "?")} boxes in '
        f'{choices.get("num_images", "?")} training images'
    ]
    lines += F.class_lines(choices.get('classes') or {})
    lines += image_sizes.size_lines(choices.get('image_sizes') or {})
    lines += image_orientation.orientation_lines(choices.get('orientation'))
    sc = choices.get('input_scale')
    if sc and sc.get('mode') == 'long_side':
        lines.append(
            f'input scale: training images of long sides '
            f'{sc["image_long_p10"]:.0f} to {sc["image_long_p90"]:.0f} px '
            f'(p10 to p90): each resized to a long side of '
            f'{sc["long_side"]:.0f} px; object sizes p10/p50/p90 '
            f'{sc["size_p10"]:.0f}/{sc["size_p50"]:.0f}/'
            f'{sc["size_p90"]:.0f} px'
        )
    elif sc and 'size_p10' not in sc:
        lines.append(f"input scale: the checkpoint's, {sc['scale']}")
    elif sc:
        lines.append(
            f'input scale: object sizes p10/p50/p90 {sc["size_p10"]:.0f}/'
            f'{sc["size_p50"]:.0f}/{sc["size_p90"]:.0f} px: images resized '
            f'by {sc["scale"]} (long side {sc["long_side"]:.0f})'
        )
    if 'pipeline_scale' in choices:
        lines.append(
            f"input scale kept: the pipeline's Resize scales the images by "
            f'{choices["pipeline_scale"]:.3f} (median)'
        )
    for name, fit in choices.get('anchors', {}).items():
        b, a = fit.get('before'), fit.get('after')
        if not (a and b):
            lines.append(f"{name} anchors: the checkpoint's")
            continue
        lines.append(
            f'{name} anchors: best possible recall {b["bpr"]:.3f} (mean '
            f'best IoU {b["mean_best_iou"]:.3f})'
            + (
                f' -> {a["bpr"]:.3f} ({a["mean_best_iou"]:.3f}) with '
                + ', '.join(
                    f'{k}={fit["cfg"][k]}'
                    for k in ('scales', 'octave_base_scale', 'ratios')
                    if k in fit['cfg']
                )
                if fit['changed']
                else ', kept'
            )
        )
    if choices.get('kept_resizes'):
        lines.append(
            'left as the config has them (the input scale replaces Resize '
            'only): ' + ', '.join(choices['kept_resizes'])
        )
    caps = choices.get('caps')
    if caps:
        lines.append(
            f'test-time caps x{caps["factor"]:.2f}: densest training image '
            f'{caps["boxes_per_mpx"]:.0f} boxes per megapixel, largest '
            f'image to evaluate {caps["largest_mpx"]:.2f} Mpx'
        )
    return lines


def record(choices: Dict[str, Any]) -> Dict[str, Any]:
    """The figures of ``choices`` kept in the fitted config (the fitted
    values themselves are in its keys)."""
    keys = ['num_images', 'num_boxes', 'boxes_per_mpx', 'pipeline_scale']
    keys += ['kept_resizes', 'image_sizes', 'orientation']
    out: Dict[str, Any] = {k: choices[k] for k in keys if k in choices}
    names = choices.get('classes') or {}
    if any(names.values()):
        out['classes'] = plain(names)
    if 'input_scale' in choices:
        out['input_scale'] = dict(choices['input_scale'])
    out['anchors'] = {
        name: {
            k: plain(fit[k])
            for k in ('changed', 'before', 'after')
            if k in fit
        }
        for name, fit in choices.get('anchors', {}).items()
    }
    if 'caps' in choices:
        out['caps'] = {k: v for k, v in choices['caps'].items() if k != 'caps'}
    return out


def write_fitted_config(
    config: str,
    out: str,
    cfg_options: Optional[Dict[str, Any]] = None,
    checkpoint: Optional[str] = None,
) -> Dict[str, Any]:
    """Fit ``config`` (with ``cfg_options`` merged, as ``--cfg-options``
    gives them) to its training boxes and write the child config ``out``.
    With ``checkpoint``, a checkpoint of the hook of versions up to 0.2:
    its input scale and anchors, so the config matches the weights.
    Returns the choices."""
    from mmengine.config import Config

    base = Config.fromfile(config)
    cfg = copy.deepcopy(base)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    opts = fit_options(cfg)
    if checkpoint is not None:
        choices = legacy_fit_choices(checkpoint)
        if choices is None:
            raise ValueError(
                f'fit_to_data: {checkpoint!r} holds no fitted choices (it '
                f'was not trained by AdaptToDataHook)'
            )
        choices['caps'] = caps_for(cfg, choices.get('boxes_per_mpx', 0.0))
    else:
        choices = choose(cfg, opts)
    new, comments = fitted(cfg, choices)
    changes = config_changes(base.to_dict(), new.to_dict())
    optioned = config_changes(base.to_dict(), cfg.to_dict())
    seen = set()
    for key in changes:
        note = comments.get((key,))
        if note is not None and note in seen:  # given above: its end
            last = note.split('. ')[-1]
            comments[(key,)] = 'As above: ' + last[:1].lower() + last[1:]
        elif note is None and key in optioned:
            nested = any(len(p) > 1 and p[0] == key for p in comments)
            comments[(key,)] = 'From --cfg-options' + (
                ', and fitted where a comment says so.' if nested else '.'
            )
        seen.add(note)
    out = osp.abspath(out)
    rel = osp.relpath(osp.abspath(config), osp.dirname(out))
    header = (
        f'Fitted to the training boxes of {osp.basename(config)} by '
        f'mmdet_libra_ext fit_to_data ({datetime.date.today()}): train, '
        f'test and deploy this config. Written by the tool: to change it, '
        f'edit {osp.basename(config)} and fit again.'
    )
    comments[(RECORD_KEY,)] = 'What the fitted values above came from.'
    text = child_config_text(rel, changes, comments, header)
    with open(out, 'w') as f:
        f.write(text)
    return choices
