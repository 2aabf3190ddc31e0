"""The package version (see CHANGELOG.md)."""

__version__ = '0.1.0'
