"""MMDetection's own model zoo with this package's components dropped in.

Every config of the model zoo MMDetection installs (``mmdet/.mim/configs``)
that names a built-in this package replaces (``FocalLoss``,
``BalancedL1Loss``, ``BFP``, ``IoUBalancedNegSampler``,
``InstanceBalancedPosSampler``) once inherited is found; one config per
detector family (model and head types, :func:`architecture`) and set of
replaced types is built twice: as MMDetection ships it, and with each
replaced type renamed ``mmdet_libra_ext.<type>`` (same arguments). The
second loads the first's weights and both run one training step (``loss`` +
``parse_losses`` + ``backward``) on the same generated image
(``mmdet.testing.demo_mm_inputs``: boxes, masks, a semantic map,
proposals; a two-frame clip for a tracker) from the same random state:

- deterministic components (the losses, BFP): every loss and every
  parameter's gradient equals MMDetection's (:data:`LOSS_RTOL`,
  :data:`GRAD_RTOL`, :data:`GRAD_FLOOR`);
- a config whose Libra samplers draw: compared equal with MMDetection's
  samplers left in place, then run with ours too, finite, backward run.

A config whose own MMDetection model cannot run here (a package it needs)
is skipped with the reason. ``python tests/test_zoo_sweep.py`` prints the
tables of ``docs/components.md``.
"""

import ast
import copy
import glob
import os
import os.path as osp
import re
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import mmdet
import numpy as np
import pytest
import torch
from mmengine.config import ConfigDict

from mmdet_libra_ext.utils.config_writer import config_dicts

REPLACED = (
    'FocalLoss',
    'BalancedL1Loss',
    'BFP',
    'IoUBalancedNegSampler',
    'InstanceBalancedPosSampler',
)
#: Types whose output depends on random draws.
DRAWING = ('IoUBalancedNegSampler', 'InstanceBalancedPosSampler')
#: Relative tolerance on each loss; on each parameter's gradient, relative
#: to that gradient's largest magnitude. Ours and MMDetection's differ by
#: float32 rounding (fused closed-form gradients, SDPA in BFP).
LOSS_RTOL = 1e-4
GRAD_RTOL = 1e-3
#: A gradient that is zero in exact arithmetic (a bias before a norm layer,
#: a softmax's key bias) is rounding noise in both: each parameter's
#: difference is taken relative to at least this share of the model's
#: largest gradient.
GRAD_FLOOR = 1e-3

ZOO = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
_QUOTED = re.compile(r"""['"]({})['"]""".format('|'.join(REPLACED)))


def _bases(path: str) -> List[str]:
    """The ``_base_`` files of a config (read with ``ast``, not executed)."""
    try:
        tree = ast.parse(open(path, encoding='utf-8').read())
    except (SyntaxError, UnicodeDecodeError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            names = [value] if isinstance(value, str) else list(value)
            return [
                osp.normpath(osp.join(osp.dirname(path), n))
                for n in names
                if isinstance(n, str) and '::' not in n
            ]
    return []


def candidate_configs() -> Dict[str, List[str]]:
    """Per family, the configs whose text or inherited text names a
    replaced type (a superset: a config may override it away), each
    family's list in the order tried."""
    mentions: Dict[str, bool] = {}

    def names(path: str, depth: int = 0) -> bool:
        if path not in mentions:
            mentions[path] = False  # (a cycle reads as no mention)
            try:
                text = open(path, encoding='utf-8').read()
            except OSError:
                return False
            mentions[path] = bool(_QUOTED.search(text)) or any(
                names(b, depth + 1) for b in _bases(path)
            )
        return mentions[path]

    families: Dict[str, List[str]] = {}
    for path in sorted(
        glob.glob(osp.join(ZOO, '*', '**', '*.py'), recursive=True)
    ):
        family = osp.relpath(path, ZOO).split(os.sep)[0]
        if family == '_base_' or not names(path):
            continue
        families.setdefault(family, []).append(path)
    for paths in families.values():
        # The plainest first: ResNet-50, short names (1x schedules, COCO).
        paths.sort(
            key=lambda p: ('r50' not in osp.basename(p), len(osp.basename(p)))
        )
    return families


FAMILIES = candidate_configs()


def named_types(cfg: Any) -> List[str]:
    """The replaced types a (model) config names, in order, once each."""
    found: List[str] = []
    for d in config_dicts(cfg):
        t = d.get('type')
        if isinstance(t, str) and t in REPLACED and t not in found:
            found.append(t)
    return found


def mapped(cfg: Any, fn: Callable[[dict], dict]) -> Any:
    """A copy of ``cfg`` with ``fn`` applied to every dict, innermost
    first."""
    if isinstance(cfg, dict):
        return fn({k: mapped(v, fn) for k, v in cfg.items()})
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(mapped(v, fn) for v in cfg)
    return cfg


def renamed(cfg: Any, types: Tuple[str, ...], compat: bool = False) -> Any:
    """A copy of ``cfg`` with each of ``types`` renamed to ours; with
    ``compat``, a ``BalancedL1Loss`` of ``beta != 1`` gets
    ``mmdet_compat=True`` (MMDetection's formula; ours is continuous in the
    gradient by default, a documented difference)."""

    def rename(d: dict) -> dict:
        if d.get('type') in types:
            if (
                compat
                and d['type'] == 'BalancedL1Loss'
                and d.get('beta', 1.0) != 1.0
            ):
                d['mmdet_compat'] = True
            d['type'] = f'mmdet_libra_ext.{d["type"]}'
        return d

    return mapped(cfg, rename)


def balanced_l1_betas(cfg: Any) -> List[float]:
    """The ``beta`` of every ``BalancedL1Loss`` a config names."""
    return [
        float(d.get('beta', 1.0))
        for d in config_dicts(cfg)
        if d.get('type') == 'BalancedL1Loss'
    ]


def _no_pretrained(cfg: Any) -> Any:
    """Drop pretrained-weight references (nothing is downloaded; the weights
    are random and copied from MMDetection's model to ours)."""

    def strip(d: dict) -> dict:
        out = {}
        for k, v in d.items():
            if (k == 'pretrained' or k.endswith('_ckpt')) and isinstance(
                v, str
            ):
                continue
            pretrained = isinstance(v, dict) and v.get('type') == 'Pretrained'
            out[k] = None if k == 'init_cfg' and pretrained else v
        return out

    return mapped(cfg, strip)


def load_model_cfg(path: str) -> Optional[dict]:
    """The model config of ``path`` as plain dicts, or None if it cannot be
    read here."""
    from mmengine.config import Config

    try:
        cfg = Config.fromfile(path, import_custom_modules=False)
    except Exception:  # noqa: BLE001 (a config this stack cannot read)
        return None
    model = cfg.get('model')
    return None if model is None else _no_pretrained(model.to_dict())


def _num_classes(cfg: Any) -> int:
    found = [
        v
        for d in config_dicts(cfg)
        for k, v in d.items()
        if k in ('num_classes', 'num_things_classes') and isinstance(v, int)
    ]
    return min(found) if found else 80


#: Image size (h, w) of the batch; the larger is tried when MMDetection's
#: own model cannot run on the smaller (a DINO needs more encoder tokens
#: than its 900 queries, DDOD larger maps).
SIZES = ((128, 160), (320, 384))


def is_tracker(model_cfg: dict) -> bool:
    """Whether the model is one of MMDetection's video trackers (>= 3.1)."""
    from mmdet.registry import MODELS

    try:
        from mmdet.models.mot import BaseMOTModel
    except ImportError:
        return False
    cls = MODELS.get(model_cfg['type'])
    return isinstance(cls, type) and issubclass(cls, BaseMOTModel)


def make_batch(model_cfg: dict, size: Tuple[int, int]) -> dict:
    """The generated batch: one image (a two-frame clip for a tracker) with
    four objects (boxes, masks) and a semantic map, the same for every
    build of a config."""
    from mmdet.testing import demo_mm_inputs, demo_mm_proposals

    np.random.seed(0)
    shapes = [(3, *size)]
    # (The semantic map is uint8.)
    num_classes = min(max(_num_classes(model_cfg), 2), 255)
    if is_tracker(model_cfg):
        from mmdet.testing import demo_track_inputs  # (mmdet >= 3.1)

        return demo_track_inputs(
            batch_size=1,
            num_frames=2,
            key_frames_inds=[0],
            image_shapes=[shapes[0]],
            num_items=[4],
            num_classes=num_classes,
        )
    data = demo_mm_inputs(
        batch_size=1,
        image_shapes=shapes,
        num_items=[4],
        num_classes=num_classes,
        with_mask=True,
        with_semantic=True,
    )
    # Precomputed proposals, for detectors without an RPN (Fast R-CNN).
    # (It reads each shape as (c, w, h).)
    proposals = demo_mm_proposals([(c, w, h) for c, h, w in shapes], 64)
    for sample, props in zip(data['data_samples'], proposals):
        sample.proposals = props
    return data


def train_step(model: torch.nn.Module, data: dict) -> Dict[str, float]:
    """One training step from a fixed random state: the logged losses; the
    gradients stay on the parameters."""
    import random

    from mmengine.logging import MessageHub

    # What a runner's loop sets (TOOD's head reads the epoch).
    hub = MessageHub.get_current_instance()
    hub.update_info('epoch', 0)
    hub.update_info('iter', 0)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    model.train()
    model.zero_grad(set_to_none=True)
    data = copy.deepcopy(data)
    losses = model.loss(data['inputs'], data['data_samples'])
    total, log_vars = model.parse_losses(losses)
    total.backward()
    return {k: float(v) for k, v in log_vars.items()}


def build_initialised(model_cfg: dict) -> torch.nn.Module:
    """MMDetection's model with its own initialisation (a DETR's sampling
    offsets, a Sparse R-CNN's boxes), from a fixed seed, no pretrained
    weights."""
    import logging

    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger

    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(copy.deepcopy(model_cfg)))
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # (init_weights logs every parameter)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def our_components(model: torch.nn.Module) -> set:
    """The names of this package's classes inside a built model: its
    modules, and the task utilities they hold (a head's sampler, a
    ``CombinedSampler``'s two)."""
    found, seen = set(), set()
    todo: List[Any] = [model]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if type(obj).__module__.startswith('mmdet_libra_ext'):
            found.add(type(obj).__name__)
        if isinstance(obj, torch.nn.Module):
            todo.extend(obj.children())
        todo.extend(
            v
            for v in vars(obj).values()
            if not isinstance(v, torch.nn.Module)
            and type(v).__module__.startswith('mmdet')
        )
    return found


def build_ours(
    model_cfg: dict,
    types: Tuple[str, ...],
    state: Dict[str, torch.Tensor],
    compat: bool = False,
) -> torch.nn.Module:
    """Ours: ``types`` renamed, MMDetection's model's ``state`` loaded
    (``strict``)."""
    from mmdet.registry import MODELS

    ours = MODELS.build(ConfigDict(renamed(model_cfg, types, compat)))
    ours.load_state_dict(state, strict=True)
    missing = set(types) - our_components(ours)
    assert not missing, f'not built as ours: {sorted(missing)}'
    return ours


def compare(
    theirs, ours, prepared: dict, ref: Dict[str, float]
) -> Tuple[float, float]:
    """Largest relative loss and gradient differences of ours' step against
    MMDetection's (``ref``, its gradients on ``theirs``), asserted within
    tolerance."""
    got = train_step(ours, prepared)
    assert set(got) == set(ref), (sorted(got), sorted(ref))
    loss_err = max(abs(got[k] - ref[k]) / max(abs(ref[k]), 1e-6) for k in ref)
    assert loss_err <= LOSS_RTOL, {k: (ref[k], got[k]) for k in ref}
    grad_err = 0.0
    ref_params = dict(theirs.named_parameters())
    grads = [p.grad for p in theirs.parameters() if p.grad is not None]
    floor = GRAD_FLOOR * max(float(g.abs().max()) for g in grads)
    for name, p in ours.named_parameters():
        g_ref = ref_params[name].grad
        assert (p.grad is None) == (g_ref is None), name
        if g_ref is None:
            continue
        scale = max(float(g_ref.abs().max()), floor)
        err = float((p.grad - g_ref).abs().max()) / scale
        grad_err = max(grad_err, err)
        assert err <= GRAD_RTOL, (name, err, scale)
    return loss_err, grad_err


def architecture(model_cfg: dict) -> Tuple[Tuple[str, str], ...]:
    """What makes a detector family: the model's type and its heads' (not
    its backbone or neck: a RetinaNet on a RegNet is a RetinaNet)."""
    arch = [('model', model_cfg['type'])]
    for key, value in sorted(model_cfg.items()):
        if (
            key.endswith('head')
            and isinstance(value, dict)
            and isinstance(value.get('type'), str)
        ):
            arch.append((key, value['type']))
    return tuple(arch)


def zoo_index() -> Tuple[
    Dict[str, Tuple[str, dict, Tuple[str, ...]]], Dict[str, str]
]:
    """The configs to sweep and what each folder of the zoo is covered by.

    One config per detector family (:func:`architecture`) and set of
    replaced types it names once inherited, the plainest first (ResNet-50,
    short names); ``covered`` maps every folder with a candidate config to
    the swept configs that stand for it (or to why none does).
    """
    chosen: Dict[tuple, Tuple[str, dict, Tuple[str, ...]]] = {}
    folders: Dict[str, List[str]] = {}
    candidates = sorted(
        (p for paths in FAMILIES.values() for p in paths),
        key=lambda p: (
            'r50' not in osp.basename(p),
            len(osp.basename(p)),
            p,
        ),
    )
    for path in candidates:
        folder = osp.relpath(path, ZOO).split(os.sep)[0]
        folders.setdefault(folder, [])
        model_cfg = load_model_cfg(path)
        types = tuple(named_types(model_cfg)) if model_cfg else ()
        if not types:
            continue
        key = (architecture(model_cfg), tuple(sorted(types)))
        if key not in chosen:
            chosen[key] = (path, model_cfg, types)
        rep = osp.relpath(chosen[key][0], ZOO)
        if rep not in folders[folder]:
            folders[folder].append(rep)
    reps = {osp.relpath(v[0], ZOO): v for v in chosen.values()}
    covered = {
        folder: (
            ', '.join(f'`{r}`' for r in sorted(r_list))
            if r_list
            else 'none: every config overrides the replaced types'
        )
        for folder, r_list in sorted(folders.items())
    }
    return reps, covered


def sweep_config(model_cfg: dict, types: Tuple[str, ...]) -> Dict[str, Any]:
    """The sweep of one config: errors measured, or a skip reason."""
    row: Dict[str, Any] = {}
    deterministic = tuple(t for t in types if t not in DRAWING)
    for size in SIZES:
        data = make_batch(model_cfg, size)
        try:
            theirs = build_initialised(model_cfg)
            # (Before its step moves a norm layer's running statistics.)
            state = copy.deepcopy(theirs.state_dict())
            prepared = theirs.data_preprocessor(copy.deepcopy(data), True)
            ref = train_step(theirs, prepared)
            break
        except Exception as e:  # noqa: BLE001 (MMDetection's own model)
            first = ' '.join(str(e).split())[:200]
            row['skip'] = (
                f"MMDetection's own model fails here: "
                f'{type(e).__name__}: {first}'
            )
    else:
        return row
    row.pop('skip', None)
    row['size'] = size
    if deterministic:
        ours = build_ours(model_cfg, deterministic, state, compat=True)
        row['loss_err'], row['grad_err'] = compare(theirs, ours, prepared, ref)
    # Ours as configured (Balanced L1's continuous form, the samplers'
    # draws): a step that runs, finite.
    betas = balanced_l1_betas(model_cfg)
    row['continuous_bl1'] = any(b != 1.0 for b in betas)
    row['drawn'] = len(deterministic) < len(types)
    if row['continuous_bl1'] or row['drawn']:
        ours = build_ours(model_cfg, types, state)
        losses = train_step(ours, prepared)
        assert all(np.isfinite(v) for v in losses.values()), losses
        grads = [p.grad for p in ours.parameters() if p.grad is not None]
        assert grads and all(bool(torch.isfinite(g).all()) for g in grads)
    return row


REPS, COVERED = zoo_index()


@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(REPS))
def test_zoo_config_with_our_components(config):
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules(init_default_scope=True)
    _, model_cfg, types = REPS[config]
    row = sweep_config(model_cfg, types)
    if 'skip' in row:
        pytest.skip(row['skip'])


def test_the_zoo_names_the_replaced_types():
    """The sweep finds MMDetection's families (a moved zoo would otherwise
    sweep nothing)."""
    for family in ('retinanet', 'libra_rcnn', 'fsaf', 'fcos', 'atss'):
        assert family in FAMILIES, sorted(FAMILIES)
    for config in (
        'fsaf/fsaf_r50_fpn_1x_coco.py',
        'libra_rcnn/libra-retinanet_r50_fpn_1x_coco.py',
    ):
        assert config in REPS, sorted(REPS)
    # Every folder with a candidate is accounted for.
    assert set(COVERED) == set(FAMILIES)


def markdown() -> str:
    """The tables of docs/components.md: each swept config, then what
    stands for each folder of the zoo."""
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules(init_default_scope=True)
    lines = [
        '| config (MMDetection 3.3 zoo) | replaced | result |',
        '|---|---|---|',
    ]
    import time

    for config in sorted(REPS):
        _, model_cfg, types = REPS[config]
        start = time.perf_counter()
        row = sweep_config(model_cfg, types)
        seconds = time.perf_counter() - start
        if 'skip' in row:
            result = f'skipped: {row["skip"]}'
        else:
            parts = []
            if 'loss_err' in row:
                compat = (
                    ' (`mmdet_compat=True`)'
                    if row.get('continuous_bl1')
                    else ''
                )
                parts.append(
                    f'equal{compat}: losses {row["loss_err"]:.0e}, '
                    f'gradients {row["grad_err"]:.0e}'
                )
            what = []
            if row.get('drawn'):
                what.append('the Libra samplers drawing')
            if row.get('continuous_bl1'):
                what.append("Balanced L1's default continuous form")
            if what:
                parts.append(
                    f'with {" and ".join(what)}: finite, backward run'
                )
            size = '{}x{}'.format(*row['size'])
            result = '; '.join(parts) + f' (one {size} image)'
        lines.append(f'| `{config}` | {", ".join(types)} | {result} |')
        print(f'{seconds:.1f} s', lines[-1], file=sys.stderr, flush=True)
    lines += ['', '| folder | swept as |', '|---|---|']
    lines += [f'| {f} | {c} |' for f, c in COVERED.items()]
    return '\n'.join(lines)


if __name__ == '__main__':
    print(markdown())
