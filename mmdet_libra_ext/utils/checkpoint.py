"""Whether a checkpoint file is complete: a run killed while saving must
never leave ``--resume`` a truncated file to load."""

import glob
import os.path as osp
import zipfile
from typing import Any, Optional


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


#: The checkpoint key and the work-dir file where the run-time hook of
#: versions up to 0.2 (``AdaptToDataHook``) kept its fitted choices.
LEGACY_FIT_KEY = 'adapt_to_data'
LEGACY_FIT_FILE = 'adapt_to_data.json'
#: How to carry on from such a run.
LEGACY_FIT_MESSAGE = (
    'run `python tools/analysis_tools/fit_to_data.py CONFIG '
    '--from-checkpoint CHECKPOINT` (or `mim run mmdet_libra_ext fit_to_data '
    '...`) and use the CONFIG_fitted.py it writes: it holds the input scale '
    'and anchors these weights were trained with'
)


def legacy_fit_choices(checkpoint: str) -> Optional[dict]:
    """The choices ``AdaptToDataHook`` (versions up to 0.2) stored in
    ``checkpoint`` (loaded weights-only) or in the ``adapt_to_data.json``
    beside it; None for any other checkpoint."""
    import json

    import torch

    try:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except Exception:  # not weights-only loadable: the file beside it
        ckpt = {}
    if isinstance(ckpt, dict) and LEGACY_FIT_KEY in ckpt:
        return json.loads(ckpt[LEGACY_FIT_KEY])
    beside = osp.join(osp.dirname(osp.abspath(checkpoint)), LEGACY_FIT_FILE)
    if osp.isfile(beside):
        with open(beside) as f:
            return json.load(f)
    return None


def check_not_legacy_fit(cfg: Any, checkpoint: Optional[str]) -> None:
    """Refuse ``checkpoint`` where ``AdaptToDataHook`` (versions up to 0.2)
    trained it at a scale and with anchors that ``cfg`` does not hold (a
    config written by ``fit_to_data`` holds them).

    Raises:
        ValueError: naming the checkpoint and how to carry on.
    """
    if not checkpoint or cfg.get('fitted_to_data') is not None:
        return
    if legacy_fit_choices(checkpoint) is not None:
        raise ValueError(
            f'{checkpoint} was trained by AdaptToDataHook with an input '
            f'scale and anchors its config does not hold: '
            + LEGACY_FIT_MESSAGE
        )
