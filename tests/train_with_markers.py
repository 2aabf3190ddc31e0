"""Run MMDetection's tools/train.py, announcing what it is doing, for the
crash tests (tests/test_resume_e2e.py).

    MARKERS=FILE python tests/train_with_markers.py TRAIN_PY CONFIG ...

Appends one line to ``FILE`` when a training iteration, a validation or a
checkpoint write begins and ends (``iter_begin``, ``iter_end``,
``val_begin``, ... ), so that a test can SIGKILL the process inside the
phase it wants. Checkpoint files are written in 16 chunks with a pause
between them, and each validation batch waits a moment first, so that
those phases last long enough to be hit. Nothing else changes: the
written bytes, the numerics and the random streams are train.py's own.
"""

import functools
import os
import runpy
import sys
import time

from mmengine.fileio import LocalBackend
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, ValLoop

_fd = os.open(os.environ['MARKERS'], os.O_WRONLY | os.O_APPEND | os.O_CREAT)


def mark(line):
    os.write(_fd, (line + '\n').encode())


def announced(phase, func):

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        mark(f'{phase}_begin')
        out = func(*args, **kwargs)
        mark(f'{phase}_end')
        return out

    return wrapped


def slow_put(self, obj, filepath):
    if not isinstance(obj, bytes) or not str(filepath).endswith('.tmp'):
        return _put(self, obj, filepath)
    mark('ckpt_begin')
    step = len(obj) // 16 + 1
    with open(filepath, 'wb') as f:
        for start in range(0, len(obj), step):
            f.write(obj[start : start + step])
            f.flush()
            time.sleep(0.02)
    mark('ckpt_end')


def slow_val_iter(self, idx, data_batch):
    time.sleep(0.3)
    return _val_iter(self, idx, data_batch)


_put = LocalBackend.put
LocalBackend.put = slow_put
_val_iter = ValLoop.run_iter
ValLoop.run_iter = slow_val_iter
ValLoop.run = announced('val', ValLoop.run)
for loop in (EpochBasedTrainLoop, IterBasedTrainLoop):
    loop.run_iter = announced('iter', loop.run_iter)

sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
