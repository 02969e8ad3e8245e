"""Reading the archive's WARC files back: record by record, or one record by its pointer.

A WARC file of ours is a series of gzip members, one per record, so every record can be
read alone from its offset; a crash can only leave the last member of a ``.open`` file torn.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArchiveLoadFailed, ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from archive.warc import OPEN_SUFFIX

CHUNK = 1 << 20


class TornMember(Exception):
    """The file ends inside a gzip member (or holds bytes that are not gzip)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"torn record at offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Member:
    offset: int
    length: int
    data: bytes  # the decompressed record


def warc_files(warc_dir: Path, *, include_open: bool = False) -> list[Path]:
    """The WARC files of an archive in the order they were written (the name holds the time
    the writer started, then a serial)."""
    names = sorted(warc_dir.glob("*.warc.gz"), key=_write_order)
    if include_open:
        names += sorted(warc_dir.glob(f"*.warc.gz{OPEN_SUFFIX}"), key=_write_order)
    return names


def _write_order(path: Path) -> tuple[str, str]:
    # portal-archive-<portal>-<stamp>-<serial>.warc.gz: order by stamp, then serial.
    parts = path.name.split(".")[0].rsplit("-", 2)
    return (parts[-2], parts[-1]) if len(parts) == 3 else (path.name, "")


def iter_members(path: Path) -> Iterator[Member]:
    """Each complete gzip member of ``path``; raises TornMember where one is incomplete."""
    with open(path, "rb") as fh:
        start = consumed = 0
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        out: list[bytes] = []
        pending = b""
        while True:
            data = pending or fh.read(CHUNK)
            pending = b""
            if not data:
                break
            try:
                out.append(decompressor.decompress(data))
            except zlib.error as e:
                raise TornMember(start, f"not gzip data ({e})") from None
            if decompressor.eof:
                used = len(data) - len(decompressor.unused_data)
                consumed += used
                yield Member(start, consumed - start, b"".join(out))
                start, out = consumed, []
                pending = decompressor.unused_data
                decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
            else:
                consumed += len(data)
        if consumed != start:
            raise TornMember(start, "file ends inside the record")


def parse_record(data: bytes, *, check_digests: bool = False) -> ArcWarcRecord:
    """The one WARC record of a decompressed member, its raw payload read (and, with
    ``check_digests``, its block and payload digests checked: see ``digest_problems``)."""
    it = ArchiveIterator(io.BytesIO(data), check_digests=check_digests)
    record = next(iter(it))
    record.payload = record.raw_stream.read()  # type: ignore[attr-defined]
    return record


def decoded_payload(record: ArcWarcRecord, limit: int = 64 << 20) -> bytes:
    """The payload as the browser saw it: without the ``Content-Encoding`` the server
    applied (at most ``limit`` bytes, against gzip bombs)."""
    payload: bytes = record.payload  # type: ignore[attr-defined]
    encoding = (record.http_headers.get_header("Content-Encoding") or "").lower() \
        if record.http_headers else ""
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = zlib.MAX_WBITS | 32 if encoding != "deflate" else zlib.MAX_WBITS
        try:
            return zlib.decompressobj(wbits).decompress(payload, limit)
        except zlib.error:
            return payload
    if encoding == "br":
        # Scrapy asks for brotli only when a brotli module is installed, so it is here.
        import brotli

        try:
            return brotli.Decompressor().process(payload, output_buffer_limit=limit)
        except brotli.error:
            return payload
    return payload


def digest_problems(record: ArcWarcRecord) -> list[str]:
    checker = getattr(record, "digest_checker", None)
    return list(checker.problems) if checker is not None else []


def read_member(path: Path, offset: int, length: int) -> bytes:
    """The decompressed record at ``offset`` (what ``warcio extract FILE OFFSET`` reads)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    data = decompressor.decompress(raw)
    if not decompressor.eof:
        raise TornMember(offset, "record is incomplete")
    return data


def warc_path(warc_dir: Path, warc_file: str) -> Path:
    """Where the index's ``warc_file`` is: under its name, or still ``.open`` if the crawl
    writing it has not closed it (or was killed)."""
    path = warc_dir / warc_file
    if not path.exists() and (warc_dir / (warc_file + OPEN_SUFFIX)).exists():
        return warc_dir / (warc_file + OPEN_SUFFIX)
    return path


def http_headers_at(warc_dir: Path, warc_file: str, offset: int,
                    head: int = 32768) -> StatusAndHeaders | None:
    """The HTTP headers of the record at ``offset``, or None if it has none or cannot be read.

    Only the start of the member is decompressed: a recrawl reads the validators of every
    known article this way, and needs none of their bodies.
    """
    try:
        with open(warc_path(warc_dir, warc_file), "rb") as fh:
            fh.seek(offset)
            data = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(fh.read(head), head)
        return next(iter(ArchiveIterator(io.BytesIO(data)))).http_headers
    except (OSError, zlib.error, StopIteration, ArchiveLoadFailed):
        return None


def read_record(warc_dir: Path, warc_file: str, offset: int, length: int) -> ArcWarcRecord:
    """The record a pointer of the index points at (its raw payload read)."""
    return parse_record(read_member(warc_path(warc_dir, warc_file), offset, length))
