"""The maintainer scripts of .dev_scripts/ import and run their CPU path,
so that they cannot rot between the days a GPU is at hand."""

import json

import pytest
import torch

from tests.tool_runs import load_tool


def test_gpu_check_parses_and_says_when_there_is_no_cuda(capsys):
    check = load_tool('.dev_scripts/gpu_check.py')
    args = check.parse_args([])
    assert args.device == 'cuda' and args.iters == 100
    for bad in (['--no-such-flag'], ['--iters', '5'], ['--only', 'x']):
        with pytest.raises(SystemExit):
            check.parse_args(bad)
    if torch.cuda.is_available():
        pytest.skip('a CUDA device is here: the check itself would run')
    with pytest.raises(SystemExit) as info:
        check.main([])
    assert info.value.code == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ['gpu_check: no CUDA device here; nothing checked']


@pytest.mark.slow
def test_gpu_check_runs_every_section_on_the_cpu(tmp_path, shapes_root):
    """Every check of the GPU run, on the CPU at small sizes: the losses
    against MMDetection and the float64 references, the samplers, BFP,
    and the end-to-end trainings with --resume and the timing."""
    check = load_tool('.dev_scripts/gpu_check.py')
    out = str(tmp_path / 'gpu_check.json')
    with pytest.raises(SystemExit) as info:
        check.main(
            [
                '--device',
                'cpu',
                '--quick',
                '--iters',
                '4',
                '--json',
                out,
                '--data-root',
                shapes_root,
            ]
        )
    summary = json.load(open(out))
    failed = [r for r in summary['checks'] if r['status'] == 'FAIL']
    assert info.value.code == 0, failed
    assert summary['failed'] == 0 and summary['passed'] >= 30
    sections = {r['section'] for r in summary['checks']}
    assert sections == {'losses', 'samplers', 'bfp', 'e2e'}
    names = ' '.join(r['name'] for r in summary['checks'])
    for what in (
        'nonfinite',
        'gradcheck',
        'bit-identical',
        'iteration time',
        'NonLocal2d',
        'same seed',
    ):
        assert what in names, what


def test_cuda_attention_benchmark_imports():
    from mmdet_libra_ext.utils.compat import SDPA_HAS_SCALE

    if not SDPA_HAS_SCALE:
        pytest.skip('torch < 2.1: scaled_dot_product_attention has no scale')
    bench = load_tool('.dev_scripts/gpu/bench_cuda_attention.py')
    q = torch.randn(1, 16, 8)
    torch.testing.assert_close(
        bench.fused(q, q, q), bench.explicit(q, q, q), rtol=1e-4, atol=1e-5
    )
