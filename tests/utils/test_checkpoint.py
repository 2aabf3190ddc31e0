"""Weights-only checkpoint loading under torch >= 2.6."""

import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmdet_libra_ext.utils.checkpoint import (
    check_weights_only_loadable,
    from_weights_only,
    to_weights_only,
    unsafe_globals,
)


def _hub_state():
    hub = MessageHub(f'ckpt_test_{id(object())}')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1), count=2)
    hub.update_info('lr', np.float64(0.02))
    hub.update_info('iter', 5)
    hub.update_info('arr', np.arange(3, dtype=np.int64))
    return hub.state_dict()


def test_mmengine_state_needs_unsafe_getattr(tmp_path):
    path = tmp_path / 'raw.pth'
    torch.save({'message_hub': _hub_state()}, path)
    assert 'builtins.getattr' in unsafe_globals(str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with pytest.raises(
        RuntimeError,
        match=r'builtins\.getattr.*'
        r'upgrade_checkpoint',
    ):
        check_weights_only_loadable(str(path))


def test_round_trip_is_exact_and_weights_only(tmp_path):
    state = {
        'meta': {'epoch': 1, 'seed': np.int64(3)},
        'message_hub': _hub_state(),
        'state_dict': {'w': torch.arange(4.0)},
    }
    path = tmp_path / 'safe.pth'
    torch.save(to_weights_only(state), path)
    assert unsafe_globals(str(path)) == []
    check_weights_only_loadable(str(path))
    loaded = from_weights_only(torch.load(path, weights_only=True))
    buf = loaded['message_hub']['log_scalars']['train/loss']
    ref = state['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    np.testing.assert_array_equal(buf._log_history, ref._log_history)
    np.testing.assert_array_equal(buf._count_history, ref._count_history)
    assert buf.max_length == ref.max_length
    assert buf.mean() == ref.mean()
    info = loaded['message_hub']['runtime_info']
    assert type(info['lr']) is np.float64 and info['lr'] == 0.02
    assert info['iter'] == 5
    np.testing.assert_array_equal(info['arr'], np.arange(3))
    assert type(loaded['meta']['seed']) is np.int64
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.0))
    # The restored state loads back into a message hub.
    hub = MessageHub('ckpt_test_restore')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').current() == pytest.approx(0.2)


def test_numpy_payloads_allowlisted(tmp_path):
    """Plain numpy arrays/scalars (harmless) load without conversion."""
    path = tmp_path / 'np.pth'
    torch.save({'a': np.ones(3, dtype=np.float32), 'b': np.float64(2.5)}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['b'] == 2.5 and loaded['a'].dtype == np.float32


def test_getattr_never_allowlisted():
    names = {
        getattr(g, '__qualname__', '')
        for g in torch.serialization.get_safe_globals()
    }
    assert 'getattr' not in names


def test_upgrade_checkpoint_tool(tmp_path):
    import os.path as osp
    import subprocess
    import sys

    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    src, dst = tmp_path / 'raw.pth', tmp_path / 'safe.pth'
    torch.save({'message_hub': _hub_state(), 'state_dict': {}}, src)
    out = subprocess.run(
        [
            sys.executable,
            osp.join(root, 'tools', 'upgrade_checkpoint.py'),
            str(src),
            str(dst),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    loaded = from_weights_only(torch.load(dst, weights_only=True))
    assert isinstance(
        loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer
    )


def _save(path, value=1.0):
    torch.save({'state_dict': {'w': torch.full((4096,), value)}}, path)
    return str(path)


def test_checkpoint_problem_finds_truncation_and_corruption(tmp_path):
    from mmdet_libra_ext.utils import checkpoint_problem

    good = _save(tmp_path / 'good.pth')
    assert checkpoint_problem(good) is None
    data = open(good, 'rb').read()
    for cut in (10, len(data) // 2, len(data) - 30):
        (tmp_path / 'cut.pth').write_bytes(data[:cut])
        assert 'truncated' in checkpoint_problem(str(tmp_path / 'cut.pth'))
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside the tensor's record
    (tmp_path / 'flip.pth').write_bytes(bytes(flipped))
    assert 'CRC' in checkpoint_problem(str(tmp_path / 'flip.pth'))
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    assert 'no zip header' in checkpoint_problem(str(tmp_path / 'text.pth'))
    assert 'does not exist' in checkpoint_problem(str(tmp_path / 'no.pth'))
    # torch's legacy format is left to torch.
    torch.save(
        {'w': torch.ones(2)},
        tmp_path / 'legacy.pth',
        _use_new_zipfile_serialization=False,
    )
    assert checkpoint_problem(str(tmp_path / 'legacy.pth')) is None


def test_check_checkpoint_file_names_the_newest_intact_one(tmp_path):
    import os

    from mmdet_libra_ext.utils import check_checkpoint_file

    old = _save(tmp_path / 'epoch_1.pth')
    newer = _save(tmp_path / 'epoch_2.pth')
    os.utime(old, (1, 1))
    data = open(newer, 'rb').read()
    bad = tmp_path / 'epoch_3.pth'
    bad.write_bytes(data[: len(data) // 2])
    check_checkpoint_file(newer)
    with pytest.raises(
        RuntimeError,
        match=r"epoch_3.pth'.*truncated.*"
        r'newest intact checkpoint .*epoch_2.pth',
    ):
        check_checkpoint_file(str(bad))
    os.remove(newer)
    os.remove(old)
    with pytest.raises(RuntimeError, match='no intact checkpoint'):
        check_checkpoint_file(str(bad))


def test_atomic_writes(tmp_path):
    from mmdet_libra_ext.utils import write_text_atomic

    target = tmp_path / 'last_checkpoint'
    write_text_atomic(str(target), 'a')
    write_text_atomic(str(target), 'b')
    assert target.read_text() == 'b'
    assert [p.name for p in tmp_path.iterdir()] == ['last_checkpoint']
