"""Convert an ImageNet MobileNetV2 in torchvision's layout to MMDetection's
``MobileNetV2`` backbone keys.

    python tools/model_converters/mobilenetv2_to_mmdet.py SRC.pth DST.pth

SRC holds a state dict (or ``{'state_dict': ...}`` / ``{'model': ...}``)
with ``features.0`` to ``features.18``, either in torchvision's nested
layout (``features.k.conv.0.0``, ``conv.0.1``, ..., torchvision's own
``mobilenet_v2`` weights) or the flat one of the original implementation
(``features.k.conv.{0,1 | 3,4 | 6,7}``); ``classifier.*`` is dropped. DST
is ``{'state_dict': ...}`` with MMDetection's keys (``conv1``,
``layer1`` to ``layer7``, ``conv2``), which
``init_cfg=dict(type='Pretrained', checkpoint=DST)`` on MMDetection's
``MobileNetV2`` loads as it loads ``open-mmlab://mmdet/mobilenet_v2``. A file
with any other key, or without all 19 stages, is refused naming them.
SRC is read with ``weights_only=True``.
"""

import argparse
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

#: Inverted residual blocks per layer of MobileNetV2 (width 1.0).
BLOCKS = (1, 2, 3, 4, 3, 3, 1)
#: Names of a block's convolutions, by how many it has.
UNITS = {
    2: ('depthwise_conv', 'linear_conv'),
    3: ('expand_conv', 'depthwise_conv', 'linear_conv'),
}
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')
FEATURE = re.compile(r'^features\.(\d+)\.(.+)$')


def block_names() -> List[str]:
    """``layerL.B`` of features 1 to 17, in order."""
    return [
        f'layer{layer + 1}.{b}'
        for layer, n in enumerate(BLOCKS)
        for b in range(n)
    ]


def _path(key: str) -> Tuple:
    """A key's numeric parts as numbers, for sorting in module order."""
    return tuple(int(p) if p.isdigit() else p for p in key.split('.'))


def _units(
    stage: Dict[str, torch.Tensor], where: str
) -> List[Dict[str, torch.Tensor]]:
    """A stage's (convolution, BatchNorm) pairs in module order, each as
    ``{'conv.weight': ..., 'bn.weight': ...}``, from either layout: a
    4-D ``weight`` is a convolution, the 1-D ``weight``, ``bias`` and
    running statistics after it its BatchNorm."""
    modules: Dict[Tuple, Dict[str, torch.Tensor]] = OrderedDict()
    for key in sorted(stage, key=_path):
        *module, param = key.split('.')
        modules.setdefault(tuple(module), {})[param] = stage[key]
    units: List[Dict[str, torch.Tensor]] = []
    for module, params in modules.items():
        weight = params.get('weight')
        if (
            weight is not None
            and weight.dim() == 4
            and set(params) == {'weight'}
        ):
            units.append({'conv.weight': weight})
        elif units and set(BN_KEYS) <= set(params) <= set(BN_KEYS) | {
            'num_batches_tracked'
        }:
            if any(k.startswith('bn.') for k in units[-1]):
                raise ValueError(
                    f'{where}: two BatchNorms after one convolution at '
                    f'{".".join(map(str, module))}'
                )
            tracked = params.get(
                'num_batches_tracked', torch.tensor(0, dtype=torch.long)
            )
            units[-1].update(
                {f'bn.{k}': params[k] for k in BN_KEYS},
                **{'bn.num_batches_tracked': tracked},
            )
        else:
            raise ValueError(
                f'{where}: unexpected keys '
                + ', '.join(
                    sorted(
                        '.'.join(map(str, module)) + '.' + p for p in params
                    )
                )
            )
    if any(len(u) != 6 for u in units):
        raise ValueError(f'{where}: a convolution without its BatchNorm')
    return units


def convert(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """MMDetection's ``MobileNetV2`` state dict from a torchvision-layout
    one (see the module docstring). Raises ValueError naming what is
    unexpected or missing."""
    stages: Dict[int, Dict[str, torch.Tensor]] = {}
    unexpected = []
    for key, value in state.items():
        m = FEATURE.match(key)
        if m:
            stages.setdefault(int(m.group(1)), {})[m.group(2)] = value
        elif not key.startswith('classifier.'):
            unexpected.append(key)
    if unexpected:
        raise ValueError(
            'not a torchvision-layout MobileNetV2: unexpected keys '
            + ', '.join(sorted(unexpected)[:20])
            + (' ...' if len(unexpected) > 20 else '')
        )
    names = ['conv1'] + block_names() + ['conv2']
    missing = sorted(set(range(len(names))) - set(stages))
    extra = sorted(set(stages) - set(range(len(names))))
    if missing or extra:
        raise ValueError(
            'not a torchvision-layout MobileNetV2 (width 1.0): '
            + (f'missing features.{missing} ' if missing else '')
            + (f'unexpected features.{extra}' if extra else '')
        )
    out: Dict[str, torch.Tensor] = OrderedDict()
    for k, name in enumerate(names):
        where = f'features.{k}'
        units = _units(
            {
                key[5:] if key.startswith('conv.') else key: v
                for key, v in stages[k].items()
            },
            where,
        )
        if name.startswith('conv'):
            if len(units) != 1:
                raise ValueError(f'{where}: expected one convolution')
            parts = [name]
        else:
            if len(units) not in UNITS:
                raise ValueError(
                    f'{where}: an inverted residual block has 2 or 3 '
                    f'convolutions, found {len(units)}'
                )
            parts = [f'{name}.{u}' for u in UNITS[len(units)]]
        for part, unit in zip(parts, units):
            for key, value in unit.items():
                out[f'{part}.{key}'] = value
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='torchvision-layout MobileNetV2 weights')
    parser.add_argument('dst', help="the checkpoint for MMDetection's")
    args = parser.parse_args(argv)
    ckpt = torch.load(args.src, map_location='cpu', weights_only=True)
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(wrapper), dict):
            ckpt = ckpt[wrapper]
    try:
        state = convert(ckpt)
    except ValueError as e:
        raise SystemExit(f'{args.src}: {e}') from None
    torch.save(
        dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst
    )
    print(f'wrote {args.dst}: {len(state)} tensors in MMDetection keys')


if __name__ == '__main__':
    main()
