"""The archive: WARC files (the source of truth), the SQLite index built from them, search."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("portal-archive")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
