"""The results store: one record per finished run (its metrics read from
the work dir), appended to ``results.json``."""

import json
import os
import os.path as osp
import statistics
from typing import Optional

from experiments.plans import (
    RPN_METRICS,
)
from mmdet_libra_ext.analysis.work_dir import (
    METRICS,
    VOC_PREFIXES,
    is_val,
    load_scalars,
)


def metrics_of(evaluation: dict) -> dict:
    """The recorded metrics of an evaluation's scalars: COCO box mAP (or
    proposal recall) without the ``coco/`` prefix, Pascal VOC mAP (the
    BCCD configs' 11-point and area evaluators) and per-class AP
    (ClasswiseVOCMetric's, CocoMetric's with ``classwise=True``)."""
    metrics = RPN_METRICS if 'coco/AR@100' in evaluation else METRICS
    out = {m: evaluation[f'coco/{m}'] for m in metrics}
    out.update(
        (k, v)
        for k, v in evaluation.items()
        if k.startswith(VOC_PREFIXES)
        or (k.startswith('coco/') and k.endswith('_precision'))
    )
    return out


def read_run(
    work_dir: str, validated: bool = True, best: Optional[str] = None
) -> dict:
    """Final COCO metrics (of a run that ``validated``; with ``best``, a
    metric the config's ``save_best`` keeps the best checkpoint on, those
    of the best validation, whose iteration is recorded as ``best_iter``;
    where it validated more than once, each validation's iteration, box mAP
    and ``best`` as ``val_curve``) and the median time per iteration of a
    run."""
    records = load_scalars(work_dir)
    val = [r for r in records if is_val(r)]
    # Every validation's step, box mAP and the metric the best checkpoint
    # is kept on: which checkpoint another choice would have kept.
    curve = [
        {
            'iter': r.get('step'),
            **{k: r[k] for k in (best, 'coco/bbox_mAP') if k and k in r},
        }
        for r in val
    ]
    if best and val:
        steps = [r.get('step') for r in val]
        if len(val) == 1 and not steps[0]:
            # Evaluations logged at epoch 0 overwrite each other: which was
            # best cannot be read (the logger's log_metric_by_epoch).
            raise RuntimeError(
                f'{work_dir}: the evaluations are logged at step '
                f'{steps[0]!r}, so the best ({best}) cannot be told from '
                'the last; log them by iteration '
                '(default_hooks.logger.log_metric_by_epoch=False)'
            )
        # The first of equal bests: the checkpoint save_best keeps.
        top = max(r.get(best, float('-inf')) for r in val)
        val = [next(r for r in val if r.get(best) == top)]
    train = [r for r in records if 'loss' in r and 'time' in r]
    if (validated and not val) or not train:
        raise RuntimeError(f'{work_dir}: no evaluation or training records')
    times = [r['time'] for r in train[len(train) // 10 :]]
    out = metrics_of(val[-1]) if validated else {}
    if best and val:
        out['best_iter'] = val[-1].get('step')
    if len(curve) > 1:
        out['val_curve'] = curve
    out['s_per_iter'] = statistics.median(times)
    out['iters'] = train[-1]['iter']
    weights = sorted(
        k for k in train[-1] if k.startswith('alwa_') and k.endswith('_weight')
    )
    if weights:
        out['alwa_final'] = {k: train[-1][k] for k in weights}
        out['alwa_min'] = {
            k: min(r[k] for r in train if k in r) for k in weights
        }
    return out


def load_results(path: str) -> list:
    if osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return []


def save_results(path: str, results: list) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(results, f, indent=1)
    os.replace(tmp, path)


def labelled(variant: str, label: Optional[str]) -> str:
    """The name a run of ``variant`` is recorded under."""
    return f'{variant} [{label}]' if label else variant
