"""Task utilities."""

from .samplers import *  # noqa: F401,F403
