"""Weights-only checkpoint loading under torch >= 2.6, and the parts of
it that older torch lacks (no allow-list before 2.4, no unsafe-globals scan
before 2.5)."""

import _compat_pickle
import collections
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmdet_libra_ext.utils import pickle_scan
from mmdet_libra_ext.utils.compat import (
    HAS_SAFE_GLOBALS,
    HAS_UNSAFE_GLOBALS_SCAN,
)
from mmdet_libra_ext.utils.pickle_scan import (
    check_weights_only_loadable,
    pickle_globals,
    unsafe_globals,
)
from mmdet_libra_ext.utils.weights_only import (
    from_weights_only,
    to_weights_only,
)

needs_allow_list = pytest.mark.skipif(
    not HAS_SAFE_GLOBALS,
    reason='torch < 2.4 has no weights_only allow-list (add_safe_globals)',
)


def _hub_state():
    hub = MessageHub(f'ckpt_test_{id(object())}')
    for i in range(5):
        hub.update_scalar('train/loss', 1.0 / (i + 1), count=2)
    hub.update_info('lr', np.float64(0.02))
    hub.update_info('iter', 5)
    hub.update_info('arr', np.arange(3, dtype=np.int64))
    return hub.state_dict()


def test_mmengine_state_needs_unsafe_globals(tmp_path):
    path = tmp_path / 'raw.pth'
    torch.save({'message_hub': _hub_state()}, path)
    found = unsafe_globals(str(path))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in found
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    with pytest.raises(
        RuntimeError,
        match=r'history_buffer\.HistoryBuffer.*'
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


@needs_allow_list
def test_numpy_payloads_allowlisted(tmp_path):
    """Plain numpy arrays/scalars (harmless) load without conversion."""
    path = tmp_path / 'np.pth'
    torch.save({'a': np.ones(3, dtype=np.float32), 'b': np.float64(2.5)}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['b'] == 2.5 and loaded['a'].dtype == np.float32


@needs_allow_list
def test_getattr_never_allowlisted():
    names = {
        getattr(g, '__qualname__', '')
        for g in torch.serialization.get_safe_globals()
    }
    assert 'getattr' not in names


class _Anything:
    """Stands for every global while unpickling: builds nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Anything()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


def _globals_by_unpickling(path):
    """The reference: the globals pickle's own unpickler asks for
    (find_class), in order, none of them called for real."""
    names = []

    class Recorder(pickle._Unpickler):  # the pure-Python unpickler
        def find_class(self, module, name):
            # What pickle's own find_class does first (fix_imports).
            if self.proto < 3:
                if (module, name) in _compat_pickle.NAME_MAPPING:
                    module, name = _compat_pickle.NAME_MAPPING[(module, name)]
                elif module in _compat_pickle.IMPORT_MAPPING:
                    module = _compat_pickle.IMPORT_MAPPING[module]
            names.append(f'{module}.{name}')
            return _Anything

        def persistent_load(self, pid):
            return None

    with zipfile.ZipFile(path) as archive:
        pkl = [n for n in archive.namelist() if n.endswith('data.pkl')][0]
        with archive.open(pkl) as f:
            Recorder(f).load()
    return list(dict.fromkeys(names))


@pytest.mark.parametrize('protocol', [2, 4])
def test_pickle_globals_are_what_the_unpickler_asks_for(tmp_path, protocol):
    path = tmp_path / 'raw.pth'
    torch.save(
        {
            'message_hub': _hub_state(),
            'counter': collections.Counter('aab'),
            # a function inside a class: through getattr below protocol 4
            'method': collections.Counter.most_common,
            'state_dict': collections.OrderedDict(w=torch.ones(2)),
        },
        path,
        pickle_protocol=protocol,
    )
    found = pickle_globals(str(path))
    assert found == _globals_by_unpickling(path)
    assert 'collections.Counter' in found
    if protocol == 2:  # through getattr, named the Python 2 way
        assert 'builtins.getattr' in found
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in found
    assert pickle_globals(str(tmp_path / 'missing.pth')) == []


@pytest.mark.skipif(
    not HAS_UNSAFE_GLOBALS_SCAN,
    reason='torch < 2.5 has no get_unsafe_globals_in_checkpoint to compare',
)
def test_scan_for_older_torch_agrees_with_torch(tmp_path):
    """The scan used below torch 2.5 names what torch's own scan names
    (on a file without the numpy globals this package allow-lists)."""
    import argparse
    import fractions

    path = tmp_path / 'objects.pth'
    torch.save(
        {
            'fraction': fractions.Fraction(1, 3),
            'args': argparse.Namespace(lr=0.02),
            'state_dict': collections.OrderedDict(w=torch.ones(2)),
        },
        path,
    )
    ours = pickle_scan._unsafe_globals_scanned(str(path))
    theirs = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert sorted(ours) == sorted(theirs)
    assert sorted(ours) == ['argparse.Namespace', 'fractions.Fraction']


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
            osp.join(
                root, 'tools', 'model_converters', 'upgrade_checkpoint.py'
            ),
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
