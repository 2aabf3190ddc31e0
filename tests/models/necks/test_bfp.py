"""BFP against MMDetection's BFP with shared weights."""

import pytest
import torch
from mmdet.models.necks import BFP as MMDetBFP

from mmdet_libra_ext.models.necks import BFP
from mmdet_libra_ext.utils.compat import (
    ONNX_EXPORT_HAS_DYNAMO,
    torchscript_onnx_export_kwargs,
)


def _levels(sizes, c=16, n=2, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(n, c, h, w, generator=g, dtype=dtype) for h, w in sizes
    ]


POW2 = [(32, 48), (16, 24), (8, 12), (4, 6), (2, 3)]
ODD = [(50, 76), (25, 38), (13, 19), (7, 10), (4, 5)]


def _pair(
    refine_type,
    refine_level,
    num_levels=5,
    c=16,
    norm_cfg=None,
    use_sdpa='auto',
):
    ref = MMDetBFP(c, num_levels, refine_level, refine_type, norm_cfg=norm_cfg)
    ref.init_weights()
    # Non-zero output conv so that the non-local branch matters.
    for p in ref.parameters():
        p.data.normal_(0, 0.1)
    ours = BFP(
        c,
        num_levels,
        refine_level,
        refine_type,
        norm_cfg=norm_cfg,
        use_sdpa=use_sdpa,
    )
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


@pytest.mark.parametrize(
    'refine_type', [None, 'conv', 'non_local', 'non_local_sdpa']
)
@pytest.mark.parametrize('refine_level', [0, 1, 2, 4])
@pytest.mark.parametrize('sizes', [POW2, ODD], ids=['pow2', 'odd'])
def test_parity_with_mmdet(refine_type, refine_level, sizes):
    sdpa = refine_type == 'non_local_sdpa'
    ours, ref = _pair(
        'non_local' if sdpa else refine_type,
        refine_level,
        use_sdpa=True if sdpa else 'auto',
    )
    xs = _levels(sizes)
    xs_ref = [x.clone().requires_grad_() for x in xs]
    xs_ours = [x.clone().requires_grad_() for x in xs]
    out_ref = ref(xs_ref)
    out_ours = ours(xs_ours)
    for a, b in zip(out_ours, out_ref):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    grads = [torch.randn_like(o) for o in out_ref]
    torch.autograd.backward(out_ref, grads)
    torch.autograd.backward(out_ours, grads)
    for a, b in zip(xs_ours, xs_ref):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5)
    for (name, p), (_, q) in zip(
        ours.named_parameters(), ref.named_parameters()
    ):
        torch.testing.assert_close(
            p.grad, q.grad, rtol=1e-4, atol=1e-4, msg=name
        )


@pytest.mark.parametrize('mode', ['train', 'eval'])
def test_parity_with_norm_and_modes(mode):
    ours, ref = _pair('non_local', 2, norm_cfg=dict(type='BN'))
    getattr(ours, mode)()
    getattr(ref, mode)()
    xs = _levels(POW2)
    for a, b in zip(ours(xs), ref(xs)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_state_dict_keys_equal_mmdet():
    for refine_type in (None, 'conv', 'non_local'):
        ref = MMDetBFP(8, 4, 1, refine_type)
        ours = BFP(8, 4, 1, refine_type)
        assert list(ours.state_dict()) == list(ref.state_dict())
    assert (
        'refine.conv_out.conv.weight' in BFP(8, 4, 1, 'non_local').state_dict()
    )


@pytest.mark.parametrize(
    'has_scale', [True, False], ids=['scale-arg', 'torch<2.1-path']
)
def test_sdpa_and_explicit_attention_agree(has_scale, monkeypatch):
    """Fused attention equals mmcv's explicit form, also along the path for
    torch < 2.1 (no ``scale=`` argument: the query is pre-scaled)."""
    from mmdet_libra_ext.models.layers import sdpa_non_local

    if has_scale and not sdpa_non_local.SDPA_HAS_SCALE:
        pytest.skip('torch < 2.1: scaled_dot_product_attention has no scale')
    monkeypatch.setattr(sdpa_non_local, 'SDPA_HAS_SCALE', has_scale)
    ours, _ = _pair('non_local', 2, use_sdpa=True)
    plain = BFP(16, 5, 2, 'non_local', use_sdpa=False)
    plain.load_state_dict(ours.state_dict())
    xs = _levels(ODD)
    for a, b in zip(ours(xs), plain(xs)):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_initialisation_follows_mmdet():
    """Xavier on convs, then the non-local block's own init (zero output
    conv), as MMDetection 3.x does."""
    torch.manual_seed(0)
    ours = BFP(16, 5, 2, 'non_local')
    ours.init_weights()
    assert torch.count_nonzero(ours.refine.conv_out.conv.weight) == 0
    assert ours.refine.g.conv.weight.std() < 0.02


@pytest.mark.parametrize(
    'num_levels,refine_level', [(2, 0), (2, 1), (3, 1), (6, 5)]
)
def test_any_number_of_levels_and_batch_one(num_levels, refine_level):
    sizes = [(40 // 2**i + 1, 30 // 2**i + 1) for i in range(num_levels)]
    xs = [x.requires_grad_() for x in _levels(sizes, n=1)]
    ours = BFP(16, num_levels, refine_level, 'non_local')
    outs = ours(xs)
    sum(o.sum() for o in outs).backward()
    for x, o in zip(xs, outs):
        assert o.shape == x.shape
        assert x.grad is not None and torch.isfinite(x.grad).all()
        assert x.grad.abs().sum() > 0


def test_autocast_bfloat16():
    ours, _ = _pair('non_local', 2)
    xs = _levels(POW2)
    xs = [x.requires_grad_() for x in xs]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = ours(xs)
    for o in outs:
        assert torch.isfinite(o.float()).all()
    sum(o.float().square().mean() for o in outs).backward()
    for t in list(xs) + list(ours.parameters()):
        assert t.grad is not None and torch.isfinite(t.grad).all()


@pytest.mark.parametrize(
    'kwargs,name',
    [
        (dict(refine_type='gcb'), 'refine_type'),
        (dict(refine_level=5), 'refine_level'),
        (dict(refine_level=-1), 'refine_level'),
        (dict(num_levels=1, refine_level=0), 'num_levels'),
        (dict(in_channels=0), 'in_channels'),
        (dict(refine_type='non_local', use_sdpa='yes'), 'use_sdpa'),
    ],
)
def test_bad_arguments_refused(kwargs, name):
    args = dict(in_channels=16, num_levels=5, refine_level=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        BFP(**args)


def test_bad_inputs_refused():
    ours = BFP(16, 5, 2)
    with pytest.raises(ValueError, match='expects 5 levels, got 4'):
        ours(_levels(POW2[:4]))
    xs = _levels(POW2)
    xs[3] = torch.randn(2, 8, 4, 6)
    with pytest.raises(ValueError, match='level 3'):
        ours(xs)


def test_built_in_a_neck_list_by_scope():
    from mmdet.registry import MODELS

    neck = MODELS.build(
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=16,
            num_levels=5,
            refine_type='non_local',
        )
    )
    assert isinstance(neck, BFP)


def test_detector_from_our_config_loads_mmdet_libra_weights():
    """A Libra detector built from our config loads the state dict of the
    same detector with MMDetection's BFP (the layout of MMDetection's
    released Libra checkpoints) strictly, and computes the same features."""
    import os.path as osp

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    root = osp.dirname(
        osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    )
    cfg = Config.fromfile(
        osp.join(
            root, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
        )
    )
    ours = MODELS.build(cfg.model)
    cfg.model.neck[1].type = 'BFP'
    theirs = MODELS.build(cfg.model)
    assert type(theirs.neck[1]) is MMDetBFP and type(ours.neck[1]) is BFP
    theirs.init_weights()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval()
    theirs.eval()
    x = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        for a, b in zip(ours.extract_feat(x), theirs.extract_feat(x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    'in_size,out_size',
    [
        ((50, 84), (13, 21)),
        ((34, 60), (5, 8)),
        ((7, 11), (4, 6)),
        ((13, 21), (13, 21)),
        ((8, 12), (4, 3)),
        ((5, 9), (1, 1)),
        ((3, 4), (3, 2)),
    ],
)
def test_static_adaptive_max_pool_is_adaptive_max_pool(in_size, out_size):
    from mmdet_libra_ext.models.layers import static_adaptive_max_pool2d

    x = torch.randn(2, 3, *in_size)
    torch.testing.assert_close(
        static_adaptive_max_pool2d(x, out_size),
        torch.nn.functional.adaptive_max_pool2d(x, out_size),
        rtol=0,
        atol=0,
    )


# Levels of a Faster R-CNN at 800x1344 / 8 (BFP pools 50x84 to 13x21: the
# sizes do not divide) and the demo's 256x256 (they do).
COCO_LIKE = [(50, 84), (25, 42), (13, 21), (7, 11), (4, 6)]
DEMO = [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)]


def _export_and_run(model, xs, dynamo, path):
    ort = pytest.importorskip('onnxruntime')
    pytest.importorskip('onnx')
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if dynamo:
            if not ONNX_EXPORT_HAS_DYNAMO:
                pytest.skip('torch < 2.5 has no dynamo ONNX exporter')
            pytest.importorskip('onnxscript')
            torch.onnx.export(
                model, (tuple(xs),), dynamo=True, verbose=False
            ).save(path)
        else:
            torch.onnx.export(
                model,
                (tuple(xs),),
                path,
                opset_version=17,
                **torchscript_onnx_export_kwargs(),
            )
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), xs)}
    return [torch.from_numpy(o) for o in session.run(None, feeds)]


REFINE_TYPES = [None, 'conv', 'non_local']
# TorchScript export (fast): every refine level with every refine type.
# Dynamo export (several seconds each): every level once, the types in
# turn, so that each type is exported at one level at least.
EXPORT_CASES = [
    pytest.param(False, t, lvl, id=f'torchscript-{t}-{lvl}')
    for t in REFINE_TYPES
    for lvl in range(5)
] + [
    pytest.param(True, REFINE_TYPES[lvl % 3], lvl, id=f'dynamo-{lvl}')
    for lvl in range(5)
]


@pytest.mark.parametrize('dynamo,refine_type,refine_level', EXPORT_CASES)
def test_exports_to_onnx_with_mmdet_values(
    dynamo, refine_type, refine_level, tmp_path
):
    """Static shapes, sizes that do not divide: both torch exporters, and
    onnxruntime gives MMDetection's BFP's values (eager)."""
    ours, ref = _pair(refine_type, refine_level)
    ours.eval(), ref.eval()
    xs = _levels(COCO_LIKE, n=1)
    got = _export_and_run(ours, xs, dynamo, str(tmp_path / 'bfp.onnx'))
    with torch.no_grad():
        want = ref(xs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    'dynamo', [False, True], ids=['torchscript', 'dynamo']
)
def test_exports_demo_sizes(dynamo, tmp_path):
    ours, ref = _pair('non_local', 2)
    ours.eval(), ref.eval()
    xs = _levels(DEMO, n=1)
    got = _export_and_run(ours, xs, dynamo, str(tmp_path / 'bfp.onnx'))
    with torch.no_grad():
        for a, b in zip(got, ref(xs)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# Property tests (hypothesis): random level shapes, including sizes that do
# not divide and levels that do not halve, against MMDetection's BFP.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def pyramids(draw):
    num_levels = draw(st.integers(2, 5))  # BFP needs two levels
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    sizes = []
    for _ in range(num_levels):
        sizes.append((h, w))
        # Roughly halving, as FPN levels do, but free to round either way.
        h = max(1, draw(st.integers(h // 2, (h + 1) // 2 + 1)))
        w = max(1, draw(st.integers(w // 2, (w + 1) // 2 + 1)))
    refine_level = draw(st.integers(0, num_levels - 1))
    return sizes, refine_level


@settings(max_examples=40, deadline=None)
@given(
    case=pyramids(),
    refine_type=st.sampled_from([None, 'conv', 'non_local']),
    seed=st.integers(0, 1000),
)
def test_property_parity_with_mmdet(case, refine_type, seed):
    sizes, refine_level = case
    ours, ref = _pair(refine_type, refine_level, num_levels=len(sizes), c=8)
    xs = _levels(sizes, c=8, n=1, seed=seed)
    with torch.no_grad():
        got, want = ours(tuple(xs)), ref(tuple(xs))
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    in_hw=st.tuples(st.integers(1, 60), st.integers(1, 60)),
    out_hw=st.tuples(st.integers(1, 30), st.integers(1, 30)),
)
def test_property_static_pool_is_adaptive_max_pool(in_hw, out_hw):
    from mmdet_libra_ext.models.layers import static_adaptive_max_pool2d

    x = torch.randn(1, 3, *in_hw)
    torch.testing.assert_close(
        static_adaptive_max_pool2d(x, out_hw),
        torch.nn.functional.adaptive_max_pool2d(x, out_hw),
        rtol=0,
        atol=0,
    )
