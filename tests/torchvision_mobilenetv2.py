"""A torchvision-layout MobileNetV2 written here (torchvision's module
layout and forward), with random weights: the reference that
tools/model_converters/mobilenetv2_to_mmdet.py is held to, and the
stand-in for ImageNet weights in the tests of the recipes that fine-tune
them (nothing is downloaded)."""

import torch
from torch import nn

#: (expand ratio, channels, blocks, stride) of MobileNetV2, width 1.0.
SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


def _cbr(cin, cout, k, stride=1, groups=1):
    """torchvision's Conv2dNormActivation: conv (0), BN (1), ReLU6 (2)."""
    return nn.Sequential(
        nn.Conv2d(
            cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False
        ),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    )


class _Block(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [] if t == 1 else [_cbr(cin, hidden, 1)]
        layers += [
            _cbr(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class TorchvisionLayoutMobileNetV2(nn.Module):
    """torchvision's MobileNetV2 ``features`` (its module layout and
    forward), written here: the reference the conversion is held to."""

    def __init__(self):
        super().__init__()
        layers, cin = [_cbr(3, 32, 3, 2)], 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                layers.append(_Block(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_cbr(cin, 1280, 1))
        self.features = nn.Sequential(*layers)

    def forward(self, x, taps=(3, 6, 13, 18)):
        out = []
        for i, f in enumerate(self.features):
            x = f(x)
            if i in taps:
                out.append(x)
        return out


def random_reference():
    torch.manual_seed(0)
    ref = TorchvisionLayoutMobileNetV2()
    with torch.no_grad():  # BatchNorm statistics other than the defaults
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return ref.eval()


def converted_random_weights(path) -> str:
    """:func:`random_reference`'s weights converted to MMDetection's
    MobileNetV2 keys by the repository's converter, saved at ``path``
    (what ``model.backbone.init_cfg.checkpoint=PATH`` names offline)."""
    from tests.tool_runs import load_tool

    convert = load_tool('tools/model_converters/mobilenetv2_to_mmdet.py')
    state = convert.convert(random_reference().state_dict())
    torch.save(dict(state_dict=state), str(path))
    return str(path)
