"""The mmdeploy rewriter for MMDetection's own BFP: MMDetection's BFP does
not export (mmdeploy#2763); under the rewriter it does, at sizes that do
not divide, and onnxruntime gives MMDetection's eager values."""

import io

import numpy as np
import pytest
import torch

pytest.importorskip('mmdeploy')
ort = pytest.importorskip('onnxruntime')

from mmdeploy.core import RewriterContext  # noqa: E402
from mmdet.models.necks import BFP as MMDetBFP  # noqa: E402

import mmdet_libra_ext.deploy.mmdet_rewriters  # noqa: E402,F401  (switched on)
from mmdet_libra_ext.utils.compat import (  # noqa: E402
    torchscript_onnx_export_kwargs,
)

# FPN levels of an 800x1344 Faster R-CNN input: scatter pools 50x84 onto
# 25x42 and 13x21 (does not divide) and 7x11.
SHAPES = [(200, 336), (100, 168), (50, 84), (25, 42), (13, 21)]


def _export(module, inputs, rewriter):
    buf = io.BytesIO()
    ctx = (
        RewriterContext(cfg={}, backend='onnxruntime')
        if rewriter
        else torch.no_grad()
    )
    with ctx, torch.no_grad():
        torch.onnx.export(
            module,
            (inputs,),
            buf,
            opset_version=11,
            **torchscript_onnx_export_kwargs(),
            input_names=[f'x{i}' for i in range(len(inputs))],
        )
    return buf.getvalue()


@pytest.mark.parametrize('refine_type', [None, 'conv', 'non_local'])
@pytest.mark.parametrize('refine_level', [1, 2])
def test_mmdet_bfp_exports_under_the_rewriter(refine_type, refine_level):
    torch.manual_seed(0)
    bfp = MMDetBFP(
        8, 5, refine_level=refine_level, refine_type=refine_type
    ).eval()
    inputs = tuple(torch.randn(1, 8, h, w) for h, w in SHAPES)
    with torch.no_grad():
        expected = bfp(inputs)
    model = _export(bfp, inputs, rewriter=True)
    sess = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
    outs = sess.run(None, {f'x{i}': x.numpy() for i, x in enumerate(inputs)})
    for got, want in zip(outs, expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)


def test_mmdet_bfp_does_not_export_without_it():
    bfp = MMDetBFP(8, 5, refine_level=2).eval()
    inputs = tuple(torch.randn(1, 8, h, w) for h, w in SHAPES)
    with pytest.raises(Exception, match='adaptive|size'):
        _export(bfp, inputs, rewriter=False)
