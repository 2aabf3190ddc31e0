"""Write a child config: what changes a loaded config, as the Python text an
mmengine config file holds (``_base_`` and the keys to merge into it), with
a comment above each key where one is given.

Example:
    >>> changes = config_changes(base.to_dict(), fitted.to_dict())
    >>> text = child_config_text('my_config.py', changes,
    ...                          {('model', 'test_cfg'): 'caps raised'})
"""

import keyword
import textwrap
from typing import Any, Dict, Iterator, Mapping, Sequence, Tuple

#: mmengine's key for replacing a base's dict instead of merging into it.
DELETE_KEY = '_delete_'
Path = Tuple[str, ...]


def plain(value: Any) -> Any:
    """``value`` with mmengine's ``ConfigDict`` as ``dict``, recursively."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def config_dicts(node: Any) -> Iterator[Any]:
    """Every dict of a (nested) config, each before those it holds, so
    that a caller may change one as it comes (a transform's options)."""
    if isinstance(node, dict) or hasattr(node, 'keys'):
        yield node
        for v in node.values():
            yield from config_dicts(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from config_dicts(v)


def add_comment(comments: Dict[Path, str], path: Path, text: str) -> None:
    """``text`` after what ``comments`` (config path to text, as
    :func:`child_config_text` takes them) already says at ``path``."""
    comments[path] = f'{comments.get(path, "")} {text}'.strip()


def config_changes(old: Mapping, new: Mapping) -> Dict[str, Any]:
    """The smallest dict that mmengine merges into ``old`` to give ``new``:
    changed keys only, lists whole (mmengine replaces them), a dict that
    loses keys or replaces a non-dict whole with ``_delete_=True``.

    Raises:
        ValueError: a key of ``old`` is missing from ``new`` at the top
            level (a child config cannot remove it).
    """
    gone = sorted(set(old) - set(new))
    if gone:
        raise ValueError(f'a child config cannot remove the keys {gone}')
    out: Dict[str, Any] = {}
    for k, v in new.items():
        if k in old and old[k] == v:
            continue
        before = old.get(k)
        if isinstance(v, Mapping) and k in old:
            if not isinstance(before, Mapping) or set(before) - set(v):
                out[k] = {DELETE_KEY: True, **plain(v)}
            else:
                out[k] = config_changes(before, v)
        else:
            out[k] = plain(v)
    return out


def _is_name(key: Any) -> bool:
    return (
        isinstance(key, str)
        and key.isidentifier()
        and not keyword.iskeyword(key)
    )


#: The width the written config keeps to (its comments are wrapped).
WIDTH = 79


def _inline(value: Any) -> str:
    """``value`` on one line, as a config file writes it."""
    if isinstance(value, Mapping):
        if all(_is_name(k) for k in value):
            inner = ', '.join(f'{k}={_inline(v)}' for k, v in value.items())
            return f'dict({inner})'
        inner = ', '.join(f'{k!r}: {_inline(v)}' for k, v in value.items())
        return f'{{{inner}}}'
    if isinstance(value, list):
        return '[' + ', '.join(_inline(v) for v in value) + ']'
    if isinstance(value, tuple):
        inner = ', '.join(_inline(v) for v in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise TypeError(f'a config cannot hold {value!r} ({type(value)})')


def _has_comment(path: Path, comments: Mapping[Path, str]) -> bool:
    n = len(path)
    return any(len(p) > n and p[:n] == path for p in comments)


def _comment(note: Any, pad: str) -> str:
    width = max(WIDTH - len(pad) - 2, 30)
    return ''.join(
        f'{pad}# {line}\n'
        for para in _lines(note)
        for line in textwrap.wrap(
            para, width, break_long_words=False, break_on_hyphens=False
        )
        or ['']
    )


def _format(
    value: Any,
    indent: int,
    path: Path,
    comments: Mapping[Path, str],
    room: int,
) -> str:
    """``value`` as config source: on one line where it fits in ``room``
    characters and holds no comment, else one item per line."""
    flat = _inline(value)
    if len(flat) <= room and not _has_comment(path, comments):
        return flat
    pad = '    ' * (indent + 1)
    end = '    ' * indent
    if isinstance(value, Mapping):
        named = all(_is_name(k) for k in value)
        items = []
        for k, v in value.items():
            key = f'{k}=' if named else f'{k!r}: '
            text = _format(
                v,
                indent + 1,
                path + (k,),
                comments,
                WIDTH - len(pad) - len(key) - 1,
            )
            lead = _comment(comments.get(path + (k,)), pad)
            items.append(f'{lead}{pad}{key}{text},\n')
        body = ''.join(items)
        return f'dict(\n{body}{end})' if named else f'{{\n{body}{end}}}'
    if isinstance(value, (list, tuple)):
        room = WIDTH - len(pad) - 1
        lines = ''.join(
            f'{pad}{_format(v, indent + 1, path, comments, room)},\n'
            for v in value
        )
        open_, close = ('[', ']') if isinstance(value, list) else ('(', ')')
        return f'{open_}\n{lines}{end}{close}'
    return flat


def _lines(note: Any) -> Sequence[str]:
    return [] if not note else str(note).splitlines()


def child_config_text(
    base: str,
    changes: Mapping[str, Any],
    comments: Mapping[Path, str] = {},
    header: str = '',
) -> str:
    """The text of a config file that inherits ``base`` (a path as
    ``_base_`` takes it) and merges ``changes`` into it; ``comments`` maps a
    key's path (``('model', 'test_cfg')``) to the comment written above it,
    ``header`` opens the file."""
    out = _comment(header, '')
    out += f'_base_ = {base!r}\n'
    for k, v in changes.items():
        if not _is_name(k):
            raise ValueError(f'{k!r} cannot be a config file variable')
        text = _format(v, 0, (k,), comments, WIDTH - len(k) - 3)
        out += '\n' + _comment(comments.get((k,)), '') + f'{k} = {text}\n'
    return out
