"""Whether a checkpoint file is complete: a run killed while saving must
never leave ``--resume`` a truncated file to load."""

import glob
import os.path as osp
import zipfile
from typing import Optional


def checkpoint_problem(filename: str) -> Optional[str]:
    """Why ``filename`` is not a complete checkpoint file, or ``None``.

    torch saves checkpoints as zip archives; a file cut short by a killed
    process loses its central directory (or a record's data), which this
    finds by reading the archive's index and every record's CRC. Files in
    torch's legacy (pre-1.6, non-zip) format are not checked.
    """
    if not osp.isfile(filename):
        return 'the file does not exist'
    with open(filename, 'rb') as f:
        magic = f.read(4)
    if magic[:1] == b'\x80':  # legacy pickle format
        return None
    if magic != b'PK\x03\x04':
        return 'it is not a torch checkpoint (no zip header)'
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        return f'it is truncated or corrupt ({e})'
    if bad is not None:
        return f'it is corrupt (record {bad!r} fails its CRC check)'
    return None


def newest_intact_checkpoint(
    directory: str, exclude: str = ''
) -> Optional[str]:
    """The most recently written complete ``*.pth`` file in ``directory``
    other than ``exclude``, or ``None``."""
    candidates = [
        f
        for f in glob.glob(osp.join(directory, '*.pth'))
        if not exclude or osp.abspath(f) != osp.abspath(exclude)
    ]
    for f in sorted(candidates, key=osp.getmtime, reverse=True):
        if checkpoint_problem(f) is None:
            return f
    return None


def check_checkpoint_file(filename: str) -> None:
    """Raise a clear error if ``filename`` is missing, truncated or corrupt,
    naming the newest intact checkpoint beside it."""
    problem = checkpoint_problem(filename)
    if problem is None:
        return
    directory = osp.dirname(osp.abspath(filename))
    previous = newest_intact_checkpoint(directory, exclude=filename)
    hint = (
        f'The newest intact checkpoint in {directory} is {previous!r}: '
        f'pass it with --resume {previous} (or load_from).'
        if previous
        else f'There is no intact checkpoint in {directory}.'
    )
    raise RuntimeError(
        f'cannot load checkpoint {filename!r}: {problem}. {hint}'
    )
