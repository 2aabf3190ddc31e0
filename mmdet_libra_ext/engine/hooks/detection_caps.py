"""The detector's test-time caps on the boxes kept per image, raised for
dense data (:class:`~mmdet_libra_ext.engine.hooks.AdaptToDataHook`).

MMDetection's configs keep at most ``max_per_img`` boxes per image (100 in
most), after at most ``nms_pre`` proposals per level and ``max_per_img``
proposals of the RPN. An image holding more objects than the final cap
cannot be recalled whole, whatever the detector: a 1000 x 1250 aerial image
of tree crowns holds about 280.
"""

import math
from typing import TYPE_CHECKING, Any, Dict, Tuple

import torch

from mmdet_libra_ext.analysis import box_stats as S
from mmdet_libra_ext.utils.compat import runner_built_loops

if TYPE_CHECKING:
    from mmengine.runner import Runner

#: The detector's parts whose ``test_cfg`` caps the boxes per image; the
#: last of them that has a ``max_per_img`` holds the final cap.
CAPPED = ('rpn_head', 'bbox_head', 'roi_head')


def detector(runner: 'Runner') -> torch.nn.Module:
    """The runner's detector, under its wrappers (distributed training,
    test-time augmentation)."""
    model = runner.model
    while isinstance(getattr(model, 'module', None), torch.nn.Module):
        model = model.module
    return model


def raise_caps(
    runner: 'Runner',
    per_mpx: float,
    config_caps: Dict[Tuple[str, str], int],
) -> Dict[str, Any]:
    """Multiply every test-time cap (the RPN's ``nms_pre`` and
    ``max_per_img``, the final ``max_per_img``, test-time augmentation's)
    by one factor, so that the largest image the built validation and test
    loops evaluate, ``per_mpx`` boxes per megapixel dense, may keep twice
    its boxes
    (:func:`~mmdet_libra_ext.analysis.box_stats.detection_cap`); caps are
    never lowered. ``config_caps``, empty at the first call, is filled with
    the config's values, which later calls scale from. Returns what was
    set and why."""
    area = max(
        (
            w * h
            for loop in runner_built_loops(runner)
            if hasattr(loop, 'evaluator')  # not the training loop
            for _, _, (w, h) in S.dataset_instances(
                getattr(loop.dataloader, 'dataset', [])
            )
        ),
        default=0,
    )
    model = detector(runner)
    found = {
        n: getattr(getattr(model, n, None), 'test_cfg', None) for n in CAPPED
    }
    found['tta'] = getattr(runner.model, 'tta_cfg', None)
    cfgs: Dict[str, Any] = {n: c for n, c in found.items() if c is not None}
    if not config_caps:
        config_caps.update(
            {
                (n, k): int(c[k])
                for n, c in cfgs.items()
                for k in ('nms_pre', 'max_per_img')
                if k in c
            }
        )
    finals = [
        config_caps[(n, 'max_per_img')]
        for n in CAPPED
        if (n, 'max_per_img') in config_caps
    ]
    need = S.detection_cap(per_mpx, area)
    factor = need / finals[-1] if finals and need > finals[-1] else 1.0
    for (n, k), v in config_caps.items():
        if n in cfgs:
            cfgs[n][k] = math.ceil(v * factor)
    return dict(
        boxes_per_mpx=per_mpx,
        largest_mpx=area / 1e6,
        factor=factor,
        caps={f'{n}.{k}': cfgs[n][k] for n, k in config_caps if n in cfgs},
    )


def caps_line(caps: Dict[str, Any]) -> str:
    """The log line of :func:`raise_caps`' result."""
    return (
        f'  densest training image {caps["boxes_per_mpx"]:.0f} boxes per '
        f'megapixel, largest image to evaluate {caps["largest_mpx"]:.2f} '
        f'megapixels: test-time caps raised {caps["factor"]:.2f}x to '
        + ', '.join(f'{k}={v}' for k, v in caps['caps'].items())
    )
