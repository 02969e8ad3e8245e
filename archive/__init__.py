"""The archive: WARC files (the source of truth), the SQLite index built from them, search."""

# The one place the version is written (pyproject.toml reads it from here): a constant, so
# that every command's start-up does not pay for importlib.metadata to look it up.
__version__ = "0.1.0"
