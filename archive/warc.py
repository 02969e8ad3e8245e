"""Writing WARC files: one gzip member per record, rotation by size, ``.open`` until closed.

The records themselves are built with warcio; this module only decides where they go and
remembers where each one landed (file, offset, length), which the index stores so that
``warcio extract FILE OFFSET`` and ``portal-archive show`` find any record again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from warcio.recordbuilder import RecordBuilder
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive import __version__

OPEN_SUFFIX = ".open"
# Compression level of each record's gzip member. warcio always uses 9; level 6 compresses
# these pages within ~2% of 9 at about twice the speed (bench/warc_bench.py), and every
# WARC reader reads any level.
DEFAULT_GZIP_LEVEL = 6
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# The WARC-Target-URI of a clean article's conversion record is this prefix and the page's URL.
# Under the page's own URL, replay tools that index every record (pywb's `wb-manager add`)
# served the JSON instead of the page; a URN of its own, as browsertrix files its text
# records under ``urn:text:<url>``, keeps them apart. Not ``urn:text:`` itself: tools read
# that record's payload as plain text, and ours is JSON. Archives written before use the
# page's URL; reindex reads the article from the payload, so it reads both. A recovered
# capture's provenance (a ``metadata`` record, archive/recover) has its own URN likewise.
ARTICLE_URN = "urn:portal-archive:article:"
PROVENANCE_URN = "urn:portal-archive:provenance:"


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio would write for ``body`` (sha1, base32)."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


class _GzipMember:
    """One gzip member around one record, at our compression level."""

    def __init__(self, out, level: int) -> None:  # noqa: ANN001 - a binary file
        self.out = out
        self.compressor = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.out.write(self.compressor.compress(data))

    def flush(self) -> None:
        self.out.write(self.compressor.flush())
        self.out.flush()


class LevelledWARCWriter(WARCWriter):
    """warcio's writer, compressing each record at ``level`` instead of always 9."""

    def __init__(self, filebuf, level: int = DEFAULT_GZIP_LEVEL, **kwargs) -> None:  # noqa: ANN001
        super().__init__(filebuf, gzip=False, **kwargs)
        self.level = level

    def write_record(self, record, params=None) -> None:  # noqa: ANN001
        # The whole member first, then one write: a write that fails (disk full) is cut off the
        # file whole (RotatingWarcWriter.write), never left torn in the middle of a record.
        member = BytesIO()
        self._write_warc_record(_GzipMember(member, self.level), record)
        write_all(self.out, member.getvalue())


def write_all(out, data: bytes) -> None:  # noqa: ANN001 - an unbuffered binary file
    view = memoryview(data)
    while view:
        view = view[out.write(view):]


@dataclass(frozen=True, slots=True)
class RecordPointer:
    """Where one record sits: enough for ``warcio extract FILE OFFSET``."""

    warc_file: str  # file name, relative to the WARC directory
    offset: int
    length: int
    record_id: str
    record_type: str
    payload_digest: str | None


def article_urn(url: str) -> str:
    """The WARC-Target-URI of the conversion record holding the clean article of ``url``."""
    return ARTICLE_URN + url


def warc_date() -> str:
    """Now as a WARC/1.1 date with microseconds, so records of one second stay ordered."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RotatingWarcWriter:
    """Append records to ``<dir>/<prefix>-<time>-<serial>.warc.gz``, starting a new file past
    ``max_size`` bytes. A file is written as ``NAME.open`` and renamed once closed and fsynced,
    so a crash leaves a file that says it may be torn."""

    def __init__(
        self,
        directory: Path | str,
        *,
        prefix: str,
        max_size: int,
        warcinfo: dict[str, str],
        gzip_level: int = DEFAULT_GZIP_LEVEL,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.warcinfo = warcinfo
        self.gzip_level = gzip_level
        self.builder = RecordBuilder(warc_version="1.1")
        self.serial = 0
        self.stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        self.name: str | None = None
        self._fh = None
        self._writer: LevelledWARCWriter | None = None
        self.bytes_written = 0
        self.closed_files: list[str] = []

    # -- building records ------------------------------------------------------------------

    def request_response(
        self,
        url: str,
        *,
        request_head: StatusAndHeaders,
        request_body: bytes,
        response_head: StatusAndHeaders,
        response_body: bytes,
        date: str | None = None,
    ) -> tuple[RecordPointer, RecordPointer]:
        """Write a response record and its request record, paired by WARC-Concurrent-To."""
        date = date or warc_date()
        response = self.builder.create_warc_record(
            url, "response", payload=BytesIO(response_body), length=len(response_body),
            http_headers=response_head, warc_headers_dict={"WARC-Date": date},
        )
        request = self.builder.create_warc_record(
            url, "request", payload=BytesIO(request_body), length=len(request_body),
            http_headers=request_head, warc_headers_dict={"WARC-Date": date},
        )
        request.rec_headers.add_header(
            "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
        )
        return self.write(response), self.write(request)

    def revisit(
        self,
        url: str,
        *,
        digest: str,
        refers_to: dict[str, str],
        request_head: StatusAndHeaders | None,
        response_head: StatusAndHeaders,
        request_body: bytes = b"",
        date: str | None = None,
        not_modified: bool = False,
    ) -> tuple[RecordPointer, RecordPointer | None]:
        """Write a revisit record (HTTP headers only) and its request record, if there is one
        (a capture recovered from another archive has none): the payload is the one archived
        before in ``refers_to`` (its record_id, url and time)."""
        date = date or warc_date()
        record = self.builder.create_revisit_record(
            url, digest, refers_to["url"], refers_to["time"], http_headers=response_head,
            warc_headers_dict={"WARC-Date": date, "WARC-Refers-To": refers_to["record_id"]},
        )
        if not_modified:
            record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED_PROFILE)
        if request_head is None:
            return self.write(record), None
        request = self.builder.create_warc_record(
            url, "request", payload=BytesIO(request_body), length=len(request_body),
            http_headers=request_head,
            warc_headers_dict={"WARC-Date": date},
        )
        request.rec_headers.add_header(
            "WARC-Concurrent-To", record.rec_headers.get_header("WARC-Record-ID")
        )
        return self.write(record), self.write(request)

    def metadata(
        self, url: str, payload: dict, *, refers_to: str | None,
        record_type: str = "conversion",
    ) -> RecordPointer:
        """Write a JSON record derived from a capture (the clean article) that refers to it."""
        data = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"WARC-Date": warc_date()}
        if refers_to:
            headers["WARC-Refers-To"] = refers_to
        record = self.builder.create_warc_record(
            url, record_type, payload=BytesIO(data), length=len(data),
            warc_content_type="application/json", warc_headers_dict=headers,
        )
        return self.write(record)

    # -- files -----------------------------------------------------------------------------

    def write(self, record) -> RecordPointer:  # noqa: ANN001 - a warcio ArcWarcRecord
        fh = self._current_file()
        offset = fh.tell()
        assert self._writer is not None
        try:
            self._writer.write_record(record)
        except OSError as e:
            raise self._cut(offset, e) from None
        return self._pointer(record, offset, fh.tell() - offset)

    def copy_member(self, member: bytes, record) -> RecordPointer:  # noqa: ANN001
        """Append ``member``, one gzipped record taken whole from another WARC file, byte for
        byte; ``record`` is that record parsed (for its headers)."""
        fh = self._current_file()
        offset = fh.tell()
        try:
            write_all(fh, member)
        except OSError as e:
            raise self._cut(offset, e) from None
        return self._pointer(record, offset, len(member))

    def _cut(self, offset: int, error: OSError) -> OSError:
        """Cut the record that could not be written whole off the file, which so ends with its
        last whole record; ``error``, naming the file."""
        assert self._fh is not None and self.name is not None
        with contextlib.suppress(OSError):
            os.ftruncate(self._fh.fileno(), offset)
            self._fh.seek(offset)
        if error.filename is None:
            error.filename = str(self.directory / (self.name + OPEN_SUFFIX))
        return error

    def _current_file(self):  # noqa: ANN202 - a binary file
        """The file the next record goes to (a new one past ``max_size``)."""
        if self._writer is None or self._fh.tell() >= self.max_size:  # type: ignore[union-attr]
            self._open_next()
        assert self._fh is not None
        return self._fh

    def _pointer(self, record, offset: int, length: int) -> RecordPointer:  # noqa: ANN001
        assert self.name is not None
        self.bytes_written += length
        headers = record.rec_headers
        return RecordPointer(
            warc_file=self.name, offset=offset, length=length,
            record_id=headers.get_header("WARC-Record-ID"),
            record_type=headers.get_header("WARC-Type"),
            payload_digest=headers.get_header("WARC-Payload-Digest"),
        )

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def sync(self) -> None:
        """Flush and fsync: what was written survives a crash of the machine too."""
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def _open_next(self) -> None:
        self.close()
        self.name = f"{self.prefix}-{self.stamp}-{self.serial:05d}.warc.gz"
        self.serial += 1
        path = self.directory / (self.name + OPEN_SUFFIX)
        # Unbuffered: each record is one write (LevelledWARCWriter), taken back whole if it fails.
        self._fh = open(path, "wb", buffering=0)  # noqa: SIM115
        self._writer = LevelledWARCWriter(self._fh, self.gzip_level, warc_version="1.1")
        info = {"software": f"portal-archive/{__version__}", "format": "WARC File Format 1.1"}
        info.update(self.warcinfo)
        try:
            self._writer.write_record(self._writer.create_warcinfo_record(self.name, info))
        except OSError as e:  # not even its warcinfo record fits: no file at all
            self._fh.close()
            path.unlink(missing_ok=True)
            self._fh = self._writer = None
            e.filename = e.filename or str(path)
            raise

    def close(self) -> None:
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        assert self.name is not None
        os.replace(self.directory / (self.name + OPEN_SUFFIX), self.directory / self.name)
        self.closed_files.append(self.name)
        self._fh = None
        self._writer = None
