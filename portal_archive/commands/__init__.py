"""The commands of ``portal-archive``, one module per group of them (see ``portal_archive/cli.py``).

``CONTEXT_SETTINGS`` is here rather than in ``portal_archive/common.py`` so that the group
reads it without loading what the commands share: the index, SQLite and numpy stay unloaded
for ``portal-archive --help``.
"""

# Every command declares them too: a command keeps the help option it was first built with.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}
