"""The maintainer scripts of .dev_scripts/ import and run their CPU path,
so that they cannot rot between the days a GPU is at hand."""

import pytest
import torch

from tests.tool_runs import load_tool


def test_gpu_check_imports_parses_and_says_when_there_is_no_cuda(capsys):
    check = load_tool('.dev_scripts/gpu/check_cuda_losses.py')
    check.parse_args([])
    with pytest.raises(SystemExit):
        check.parse_args(['--no-such-flag'])
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is here: the check itself would run')
    with pytest.raises(SystemExit) as info:
        check.main([])
    assert info.value.code == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ['check_cuda_losses: no CUDA device here; nothing checked']


def test_cuda_attention_benchmark_imports():
    from mmdet_libra_ext.utils.compat import SDPA_HAS_SCALE

    if not SDPA_HAS_SCALE:
        pytest.skip('torch < 2.1: scaled_dot_product_attention has no scale')
    bench = load_tool('.dev_scripts/gpu/bench_cuda_attention.py')
    q = torch.randn(1, 16, 8)
    torch.testing.assert_close(
        bench.fused(q, q, q), bench.explicit(q, q, q), rtol=1e-4, atol=1e-5
    )
