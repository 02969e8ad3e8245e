"""Reading the archive's WARC files back: record by record, or one record by its pointer.

A WARC file of ours is a series of gzip members, one per record, so every record can be
read alone from its offset; a crash can only leave the last member of a ``.open`` file torn.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import brotli
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.recordloader import ArchiveLoadFailed, ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders

from archive.warc import OPEN_SUFFIX

CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b\x08"  # ID1, ID2, deflate: the first bytes of every gzip member
PAYLOAD_LIMIT = 64 << 20  # bytes of a decoded payload, at most
DECODE_STEP = 4096  # compressed bytes decoded at a time: gzip inflates them 1,032 times at most


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


@dataclass(frozen=True, slots=True)
class Damage:
    """A region of a WARC file that holds no readable record: skipped, and reported in these
    words by every command that meets it (verify, reindex, cdxj, show --raw, exports)."""

    file: str
    offset: int
    length: int
    reason: str

    def __str__(self) -> str:
        return (f"{self.file}: damaged region at offset {self.offset} ({self.length:,} bytes): "
                f"{self.reason}")


def iter_members(path: Path, *,
                 on_damage: Callable[[Damage], None] | None = None) -> Iterator[Member]:
    """Each complete gzip member of ``path``. Without ``on_damage``, raises TornMember where one
    is incomplete or not gzip; with it, reports the damaged region (up to the next gzip member
    found after it, or the end of the file) and goes on with the members after it."""
    start = 0
    with open(path, "rb") as fh:
        while True:
            try:
                for member in _members_from(fh, start):
                    start = member.offset + member.length
                    yield member
                return
            except TornMember as torn:
                if on_damage is None:
                    raise
                after = _next_member(fh, torn.offset + 1)
                end = after if after is not None else os.fstat(fh.fileno()).st_size
                on_damage(Damage(path.name, torn.offset, end - torn.offset, torn.reason))
                if after is None:
                    return
                start = after


def _members_from(fh: BinaryIO, start: int) -> Iterator[Member]:
    fh.seek(start)
    consumed = start
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


def _next_member(fh: BinaryIO, offset: int) -> int | None:
    """The offset of the next gzip member header at or after ``offset``, or None."""
    fh.seek(offset)
    tail = b""
    while chunk := fh.read(CHUNK):
        data = tail + chunk
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return offset - len(tail) + found
        offset += len(chunk)
        tail = data[-(len(GZIP_MAGIC) - 1):]
    return None


def readable_records(path: Path, on_damage: Callable[[Damage], None]
                     ) -> Iterator[tuple[Member, ArcWarcRecord]]:
    """Each record of ``path`` that can be read, with its member; a damaged region or a member
    that holds no WARC record is reported to ``on_damage`` and skipped."""
    for member in iter_members(path, on_damage=on_damage):
        try:
            record = parse_record(member.data)
        except Exception as e:  # noqa: BLE001 - a record warcio cannot read is damage
            on_damage(Damage(path.name, member.offset, member.length,
                             f"not a WARC record ({str(e)[:100]})"))
            continue
        yield member, record


def parse_record(data: bytes, *, check_digests: bool = False) -> ArcWarcRecord:
    """The one WARC record of a decompressed member, its raw payload read (and, with
    ``check_digests``, its block and payload digests checked: see ``digest_problems``)."""
    it = ArchiveIterator(io.BytesIO(data), check_digests=check_digests)
    record = next(iter(it))
    record.payload = record.raw_stream.read()  # type: ignore[attr-defined]
    return record


class BrotliDecoder:
    """brotli's decompressor as warcio drives its decoders (``decompress``, ``unused_data``).

    warcio registers one that sets ``unused_data`` on brotli's own object, which brotli 1.x
    objects refuse (webrecorder/warcio#73); the brotlipy package it was written for installs a
    ``brotli`` module that shadows the one Scrapy decodes ``br`` with.
    """

    unused_data = None  # a brotli stream has no member after it

    def __init__(self) -> None:
        self.decompressor = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return self.decompressor.process(data)


BufferedReader.DECOMPRESSORS["br"] = BrotliDecoder
BufferedReader.DECOMPRESSORS["x-gzip"] = BufferedReader.DECOMPRESSORS["gzip"]  # RFC 9110 8.4.1.3


class _Trickle(io.BytesIO):
    """Bytes handed out at most ``DECODE_STEP`` at a time, however many a reader asks for."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(DECODE_STEP if size is None or size < 0 else min(size, DECODE_STEP))


def decoded_payload(record: ArcWarcRecord, limit: int = PAYLOAD_LIMIT) -> bytes:
    """The payload as the browser saw it: without the ``Content-Encoding`` the server applied
    (gzip, deflate, br), undone by warcio's ``content_stream()``. At most ``limit`` bytes come
    out, against decompression bombs; warcio is fed ``DECODE_STEP`` bytes at a time, so a gzip
    or deflate bomb never inflates more than a few MiB past it (brotli has no such bound)."""
    record.raw_stream = _Trickle(record.payload)  # type: ignore[attr-defined]
    stream = record.content_stream()  # the trickle itself when there is no Content-Encoding
    decoded = bytearray()
    while len(decoded) < limit and (chunk := stream.read(limit - len(decoded))):
        decoded += chunk
    return bytes(decoded)


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


class DamagedRecord(Exception):
    """The record a pointer names cannot be read: its bytes are damaged or missing."""

    def __init__(self, damage: Damage) -> None:
        super().__init__(str(damage))
        self.damage = damage


def read_record(warc_dir: Path, warc_file: str, offset: int, length: int) -> ArcWarcRecord:
    """The record a pointer of the index points at (its raw payload read); DamagedRecord
    when it cannot be read."""
    try:
        return parse_record(read_member(warc_path(warc_dir, warc_file), offset, length))
    except FileNotFoundError:
        raise
    except (TornMember, zlib.error, OSError, ArchiveLoadFailed, StopIteration, ValueError) as e:
        reason = (e.reason if isinstance(e, TornMember) else f"not gzip data ({e})"
                  if isinstance(e, zlib.error) else f"not a WARC record ({str(e)[:100]})")
        raise DamagedRecord(Damage(warc_file, offset, length, reason)) from None
