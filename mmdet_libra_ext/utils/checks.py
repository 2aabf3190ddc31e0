"""Argument checks shared by the components: a bad value is refused at
construction time with an error that names it."""

import difflib
import inspect
from typing import Any, Callable, Iterable, Mapping, Optional, Set


def check_one_of(value: Any, choices: tuple, name: str) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is in
    ``choices``.

    Args:
        value: The value given.
        choices (tuple): The accepted values.
        name (str): The argument's name, for the message.
    """
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')


def check_known_options(
    owner: str, given: Mapping[str, Any], accepted: Iterable[str]
) -> None:
    """Raise a TypeError naming every key of ``given`` not in ``accepted``.

    A config-driven component that swallowed a misspelled option would train
    with the default instead, silently; this names the unknown key, the
    accepted ones and the closest accepted name (``difflib``'s match).

    Args:
        owner (str): The component's name, for the message.
        given (Mapping): The options given beyond the named arguments.
        accepted (Iterable[str]): Every option the component takes.
    """
    accepted = sorted(set(accepted))
    unknown = sorted(k for k in given if k not in accepted)
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, accepted, n=1)
        if close:
            hints.append(f'{key!r}: did you mean {close[0]!r}?')
    hint = (' (' + '; '.join(hints) + ')') if hints else ''
    got = ', '.join(f'{k}={given[k]!r}' for k in unknown)
    raise TypeError(
        f'{owner} got unknown option(s) {got}{hint}; it accepts {accepted}'
    )


def named_args(fn: Callable) -> Set[str]:
    """The arguments of ``fn`` that can be given by name (not ``self``,
    ``*args`` or ``**kwargs``)."""
    return {
        p.name
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    } - {'self'}


def check_int(name: str, value: Any, low: Optional[int] = None) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an int (not a
    bool), at least ``low`` when given."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or (low is not None and value < low)
    ):
        bound = '' if low is None else f' >= {low}'
        raise ValueError(f'{name} must be an int{bound}, got {value!r}')


def check_positive(**values: float) -> None:
    """Raise a ValueError naming the first argument that is not > 0."""
    for name, value in values.items():
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not value > 0
            or value != value
            or value == float('inf')
        ):
            raise ValueError(
                f'{name} must be a finite number > 0, got {value!r}'
            )
