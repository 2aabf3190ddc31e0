"""The package version (see CHANGELOG.md)."""

__version__ = '0.2.0'
