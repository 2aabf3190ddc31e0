"""Pretrain the demo backbone, once per machine, for the transfer recipes.

    python -m experiments.pretrain_backbone
        [--out data/pretrained/r18-half_shapes.pth] [--seed 0] [--epochs 12]
        [--threads 1] [--data-root DIR/] [--cfg-options ...] [--force]

The papers fine-tune from ImageNet-pretrained backbones; nothing may be
downloaded here, so this command makes the pretrained backbone itself: it
trains the baseline demo detector (half-width ResNet-18 FPN Faster R-CNN,
``configs/demo/faster-rcnn_r18_fpn_shapes_demo.py``) on the embedded
``shapes`` dataset with MMDetection's tools/train.py and a fixed seed
(deterministic kernels, a fixed thread count), and keeps its backbone. The
output holds the backbone's parameters and buffers under ``backbone.``, so
configs load it with ``init_cfg=dict(type='Pretrained', checkpoint=OUT,
prefix='backbone.')`` (configs/transfer/ do).

The file records what made it (config, seed, epochs, threads, options).
When OUT exists with the same record the command does nothing (the cache:
the transfer runs call it before training); ``--force`` trains again. The
same machine and settings give bit-identical weights.
"""

import argparse
import os
import os.path as osp
import subprocess
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_OUT = osp.join('data', 'pretrained', 'r18-half_shapes.pth')
DEFAULT_CONFIG = osp.join(
    'configs', 'demo', 'faster-rcnn_r18_fpn_shapes_demo.py'
)


def train_script() -> str:
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def schedule_options(epochs: int, transfer: bool = False):
    """Override a schedule consistently: evaluation, the checkpoint and the
    demo's cosine end, or the transfer recipe's decay steps (at 2/3 and
    11/12), follow the number of epochs."""
    opts = [
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}',
        f'param_scheduler.1.end={epochs}',
        f'default_hooks.checkpoint.interval={epochs}',
    ]
    if transfer:
        steps = sorted(
            {max(1, round(epochs * 2 / 3)), max(1, round(epochs * 11 / 12))}
        )
        return opts + [
            'param_scheduler.1.milestones=[' + ','.join(map(str, steps)) + ']'
        ]
    return opts + [f'param_scheduler.1.T_max={epochs}']


def data_root_options(data_root: str) -> list:
    """``--cfg-options`` that point a demo config at another copy of its
    dataset (``data_root`` ends with a slash)."""
    return [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'val_evaluator.ann_file={data_root}annotations/instances_val.json',
    ]


def recipe(args) -> dict:
    """What the output is a function of (the thread count too: it changes
    the order of float reductions, so the weights)."""
    return dict(
        config=args.config,
        seed=args.seed,
        epochs=args.epochs,
        threads=args.threads,
        data_root=args.data_root,
        cfg_options=list(args.cfg_options),
    )


def cached(out: str, want: dict) -> bool:
    if not osp.isfile(out):
        return False
    try:
        meta = torch.load(out, weights_only=True, map_location='cpu')['meta']
    except Exception:  # unreadable: train again
        return False
    return meta.get('recipe') == want


def pretrain(args) -> str:
    from mmdet_libra_ext.utils import atomic_replace

    out = args.out
    want = recipe(args)
    if not args.force and cached(out, want):
        print(f'[pretrain] {out} is up to date (cached)')
        return out
    data_opts = data_root_options(args.data_root) if args.data_root else []
    if not args.data_root and not osp.isfile(
        'data/shapes/annotations/instances_val.json'
    ):
        subprocess.run(
            [
                sys.executable,
                '-m',
                'mmdet_libra_ext.datasets.make_shapes',
                'data/shapes',
            ],
            check=True,
        )
    work = osp.join(args.work_dir, f'seed{args.seed}_e{args.epochs}')
    cmd = (
        [
            sys.executable,
            train_script(),
            args.config,
            '--work-dir',
            work,
            '--cfg-options',
            f'randomness.seed={args.seed}',
            'randomness.deterministic=True',
        ]
        + schedule_options(args.epochs)
        + data_opts
        + list(args.cfg_options)
    )
    print(
        f'[pretrain] training {args.config} (seed {args.seed}, '
        f'{args.epochs} epochs) in {work}',
        flush=True,
    )
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(args.threads),
        MKL_NUM_THREADS=str(args.threads),
    )
    subprocess.run(cmd, check=True, env=env)
    with open(osp.join(work, 'last_checkpoint')) as f:
        ckpt = torch.load(
            f.read().strip(), weights_only=True, map_location='cpu'
        )
    state = {
        k: v
        for k, v in ckpt['state_dict'].items()
        if k.startswith('backbone.')
    }
    if not state:
        raise RuntimeError(f'{args.config} has no backbone.* weights')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save({'state_dict': state, 'meta': {'recipe': want}}, out + '.tmp')
    atomic_replace(out + '.tmp', out)
    print(f'[pretrain] wrote {out} ({len(state)} tensors)')
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=DEFAULT_OUT)
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--epochs', type=int, default=12)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads of the training (part of the '
        'recipe: the same count gives the same weights)',
    )
    parser.add_argument(
        '--work-dir', default=osp.join('work_dirs', 'pretrain')
    )
    parser.add_argument(
        '--data-root',
        default=None,
        help='another copy of the shapes dataset (default: '
        'data/shapes/, made if missing)',
    )
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE'
    )
    parser.add_argument('--force', action='store_true')
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f'--epochs must be >= 1, got {args.epochs}')
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    return args


def main(argv=None) -> str:
    os.chdir(ROOT)
    return pretrain(parse_args(argv))


if __name__ == '__main__':
    main()
