"""Files written atomically: readers (``--resume``) see the old file or the
new one, never a part of it."""

import os
import os.path as osp


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_replace(tmp: str, filename: str) -> None:
    """Move the completely written file ``tmp`` to ``filename`` in one step:
    readers see the old file or the new one, never a part of it (also
    after a power cut: the data and the directory entry are synced)."""
    _fsync(tmp)
    os.replace(tmp, filename)
    _fsync(osp.dirname(osp.abspath(filename)))


def write_text_atomic(filename: str, text: str) -> None:
    """Write ``text`` to ``filename`` atomically."""
    tmp = f'{filename}.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    atomic_replace(tmp, filename)
