"""Argument checks shared by the components: a bad value is refused at
construction time with a ValueError that names it."""

from typing import Any


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
