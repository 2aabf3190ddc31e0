"""The stages of a detector whose samples the balance report reads: the
RPN, the RoI head, a one-stage head (:func:`stages`), from its config, and
the config errors that name what is missing."""

from typing import Any, Dict, List


class ConfigError(ValueError):
    """The config lacks what the report needs (the message names it)."""


def get(cfg: Any, path: str) -> Any:
    """The config's value at the dotted ``path``, or None."""
    node = cfg
    for key in path.split('.'):
        if not hasattr(node, 'get') or node.get(key) is None:
            return None
        node = node.get(key)
    return node


def require(cfg: Any, path: str, why: str) -> Any:
    """The config's value at ``path``; a ConfigError naming it (and
    ``why`` it is needed) where it is missing."""
    value = get(cfg, path)
    if value is None:
        raise ConfigError(f'the config has no {path} ({why})')
    return value


def stages(cfg: Any) -> List[Dict[str, Any]]:
    """The stages whose samples the report reads: ``name``, ``head`` (the
    head's config), ``train_cfg``, ``priors`` (``'anchors'``, ``'points'``
    or ``'proposals'``), ``generator`` (a prior generator's config) and, for
    the box head of the detector, ``final=True``."""
    model = require(cfg, 'model', 'a detector config needs a model')
    train_cfg = require(
        cfg, 'model.train_cfg', 'the assigners and samplers of training'
    )
    out = []

    def prior_stage(name: str, head: Any, tcfg: Any) -> Dict[str, Any]:
        gen = head.get('anchor_generator') or head.get('prior_generator')
        if gen is None:
            # The head's own default (FCOS-like heads build their point
            # generator from their strides).
            from mmdet.registry import MODELS

            gen = getattr(MODELS.build(head), 'prior_generator', None)
        if gen is None:
            raise ConfigError(
                f'the config has no model.{name}.anchor_generator or '
                'prior_generator'
            )
        gtype = gen.get('type', '') if hasattr(gen, 'get') else type(gen)
        kind = 'points' if 'Point' in str(gtype) else 'anchors'
        return dict(
            name=name, head=head, train_cfg=tcfg, priors=kind, generator=gen
        )

    if model.get('rpn_head') is not None:
        out.append(
            prior_stage(
                'rpn',
                model.rpn_head,
                require(cfg, 'model.train_cfg.rpn', "the RPN's assigner"),
            )
        )
    if model.get('roi_head') is not None:
        rcnn = require(cfg, 'model.train_cfg.rcnn', 'the RoI assigner')
        if isinstance(rcnn, (list, tuple)):
            rcnn = rcnn[0]  # a cascade: its first stage
        head = model.roi_head.get('bbox_head')
        if isinstance(head, (list, tuple)):
            head = head[0]
        if head is None:
            raise ConfigError('the config has no model.roi_head.bbox_head')
        out.append(
            dict(name='rcnn', head=head, train_cfg=rcnn, priors='proposals')
        )
    elif model.get('bbox_head') is not None:
        if train_cfg.get('assigner') is None:
            raise ConfigError(
                'the config has no model.train_cfg.assigner (the head '
                "labels its priors with it; a query-based detector's "
                'matching is not read by this report)'
            )
        out.append(prior_stage('head', model.bbox_head, train_cfg))
    if not out:
        raise ConfigError(
            'the config has none of model.rpn_head, model.roi_head, '
            'model.bbox_head'
        )
    out[-1]['final'] = True
    return out
