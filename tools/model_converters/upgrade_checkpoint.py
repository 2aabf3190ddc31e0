"""Rewrite a trusted mmengine checkpoint so that it loads with
``torch.load(weights_only=True)``.

    python tools/model_converters/upgrade_checkpoint.py IN.pth OUT.pth

Loading IN uses ``weights_only=False``, which can run code stored in the
file: only do it for checkpoints you trust (e.g. your own runs). OUT holds
the same content with the runtime state in plain Python and tensor values
(see mmdet_libra_ext.utils.weights_only); MMDetection loads it with or
without this package, and runs with WeightsOnlyCheckpointHook restore it.
"""

import argparse

import torch

from mmdet_libra_ext.utils import to_weights_only, unsafe_globals


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    args = parser.parse_args()
    ckpt = torch.load(args.src, map_location='cpu', weights_only=False)
    torch.save(to_weights_only(ckpt), args.dst)
    left = unsafe_globals(args.dst)
    if left:
        raise SystemExit(f'{args.dst} still needs unsafe globals: {left}')
    print(f'wrote {args.dst}: loads with weights_only=True')


if __name__ == '__main__':
    main()
