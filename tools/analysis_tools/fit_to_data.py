"""Fit a detector config to its training boxes: write a child config with
the input scale, anchors and test-time caps the boxes call for.

    python tools/analysis_tools/fit_to_data.py CONFIG [--out FITTED.py]
        [--cfg-options KEY=VALUE ...] [--from-checkpoint CKPT]

Reads the annotations of the config's training set (and the image sizes of
its validation and test sets) and writes ``FITTED.py`` (default: beside
CONFIG, ``<name>_fitted.py``): ``_base_`` = CONFIG, each fitted value with
a comment giving the figures it came from
(:mod:`mmdet_libra_ext.analysis.fit_to_data`). Train, test, run inference
and export with that file as with any MMDetection config. The options are
CONFIG's ``fit_to_data`` dict (``--cfg-options fit_to_data.smallest=32``).
``--from-checkpoint``: a checkpoint trained by ``AdaptToDataHook`` (versions
up to 0.2) gives its input scale and anchors, so that the config matches
its weights.
"""

import argparse
import os.path as osp
import sys

from mmdet_libra_ext.analysis.fitted_config import (
    fitted_path,
    summary_lines,
    write_fitted_config,
)


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='an MMDetection detector config')
    parser.add_argument(
        '--out',
        default=None,
        help='the config to write (default: beside CONFIG, <name>_fitted.py)',
    )
    parser.add_argument(
        '--from-checkpoint',
        default=None,
        help='take the input scale and anchors from a checkpoint trained '
        'with AdaptToDataHook (versions up to 0.2)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in MMDetection tools; '
        'they are written into the fitted config too',
    )
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        parser.error(f'no config at {args.config!r}')
    if args.from_checkpoint and not osp.isfile(args.from_checkpoint):
        parser.error(f'no checkpoint at {args.from_checkpoint!r}')
    return args


def main(argv=None) -> int:
    import mmdet_libra_ext  # noqa: F401  (registers the components)

    args = parse_args(argv)
    out = args.out or fitted_path(args.config)
    if osp.abspath(out) == osp.abspath(args.config):
        sys.exit('fit_to_data: --out must not be CONFIG itself')
    try:
        choices = write_fitted_config(
            args.config, out, args.cfg_options, args.from_checkpoint
        )
    except (ValueError, TypeError) as e:
        sys.exit(str(e))
    for line in summary_lines(choices):
        print(line)
    print(f'Wrote {out}: train, test and deploy it as any config.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
