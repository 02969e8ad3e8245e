"""A CDXJ index of the archive's WARC files: what pywb and ReplayWeb.page replay from.

cdxj-indexer (the webrecorder indexer pywb's own tools use) writes one sorted line per
replayable record: SURT key, timestamp, and a JSON block with the file name, offset and
length of the record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cdxj_indexer import CDXJIndexer

# Only what a browser fetched is replayed: our conversion and metadata records carry JSON
# for the index and would shadow the page at the same URL.
REPLAY_RECORDS = "response,revisit"


def write_cdxj(files: Iterable[Path], output: Path) -> int:
    """Index ``files`` into ``output`` (written aside and renamed into place, so a replay
    server never reads half an index); return the number of lines written."""
    tmp = output.with_name(output.name + ".tmp")
    indexer = CDXJIndexer(str(tmp), [str(p) for p in files], records=REPLAY_RECORDS,
                          sort=True)
    indexer.process_all()
    os.replace(tmp, output)
    with open(output, "rb") as fh:
        return sum(1 for _ in fh)
