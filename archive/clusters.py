"""Near-duplicate clusters: the same news republished by a district portal, its province's
portal and the provincial newspaper, with other chrome and small edits.

Every article gets a MinHash signature of the word 3-grams of its normalised body, kept in the
``article_clusters`` table and recomputed only when the body changed. Clustering is MinHash
LSH with the bands datasketch's ``MinHashLSH`` chooses for our threshold: two articles are
candidates when all the hashes of one band agree. It runs one band at a time over signatures
streamed from SQLite, so memory holds one band's table (a few bytes per article) rather than
all of them; candidates are joined with union-find, and each cluster is named after its
earliest published member.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterator

import numpy as np
import sqlite_utils
from datasketch import MinHash, MinHashLSH

NUM_PERM = 64  # permutations per signature: 256 bytes per article as uint32
SEED = 1
SCHEME = "affine32"  # datasketch's 32-bit permutations: signatures stored as uint32
THRESHOLD = 0.5  # estimated Jaccard similarity of the shingle sets above which pages cluster
MIN_WORDS = 8  # bodies shorter than this are too short to call near-duplicates
BATCH = 1000
WORD = re.compile(r"\w+")


_WORD_HASHES: dict[str, int] = {}  # Vietnamese is written in a few thousand syllables
WORD_CACHE = 200_000  # word hashes kept, at most


def _word_hash(word: str) -> int:
    _WORD_HASHES[word] = value = zlib.crc32(word.encode("utf-8")) or 1  # 0 reads as missing
    return value


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the word 3-grams of ``text`` after NFC, case folding and dropping
    punctuation, so a republication that only changed a dash, a case or a line break
    shingles the same. Words are hashed once (CRC-32, stable across processes) and combined
    per 3-gram with numpy: this is the hot loop of clustering."""
    words = WORD.findall(unicodedata.normalize("NFC", text or "").casefold())
    if len(words) < MIN_WORDS:
        return np.empty(0, dtype=np.uint64)
    if len(_WORD_HASHES) > WORD_CACHE:
        _WORD_HASHES.clear()
    h = np.array([_WORD_HASHES.get(w) or _word_hash(w) for w in words], dtype=np.uint64)
    grams = (h[:-2] * np.uint64(0x9E3779B1) + h[1:-1] * np.uint64(0x85EBCA77) + h[2:])
    return np.unique(grams & np.uint64(0xFFFFFFFF))


# The random permutations depend only on NUM_PERM and SEED: computed once, shared.
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)


def signature(text: str) -> bytes | None:
    """The MinHash signature of a body as bytes, or None for a body too short to compare."""
    grams = shingle_hashes(text)
    if not len(grams):
        return None
    # The shingles are hashed already: the hash function only turns them into ints.
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=int,
                      permutations=_TEMPLATE.permutations)
    minhash.update_batch(grams.tolist())
    return minhash.hashvalues.astype(np.uint32).tobytes()


def update_signatures(db: sqlite_utils.Database) -> int:
    """Sign the articles that are new or changed since the last run; forget deleted ones.
    Returns how many articles were (re)signed."""
    db.execute("delete from article_clusters "
               "where article_id not in (select id from articles)")
    signed, last = 0, 0
    # Keyset pages, each read whole before writing: no read cursor stays open on the table
    # being written.
    while rows := db.execute(
        "select a.rowid, a.id, a.digest, a.text from articles a "
        "left join article_clusters c on c.article_id = a.id "
        "where a.rowid > ? and (c.article_id is null or c.digest is not a.digest) "
        "order by a.rowid limit ?", [last, BATCH]).fetchall():
        db.conn.executemany(
            "insert or replace into article_clusters (article_id, digest, signature, cluster) "
            "values (?, ?, ?, null)",
            [(id_, digest, signature(text)) for _, id_, digest, text in rows])
        signed += len(rows)
        last = rows[-1][0]
    return signed


def cluster_in_temp(db: sqlite_utils.Database) -> None:
    """Keep clusters in a temporary copy of ``article_clusters`` for this connection: an
    index opened read-only (archive.index.open_index_readonly) is clustered without being
    written. SQLite finds a ``temp`` table before the one of the same name in the index."""
    db.executescript("""
        create temp table article_clusters (article_id text primary key, digest text,
                                            signature blob, cluster text);
        insert into temp.article_clusters select * from main.article_clusters;
        create index temp.article_clusters_cluster on article_clusters (cluster);
    """)


def update_clusters(db: sqlite_utils.Database) -> dict[str, int]:
    """Bring every article's cluster id up to date. Cheap when nothing changed."""
    with db.conn:
        signed = update_signatures(db)
        unclustered = db.execute(
            "select count(*) from article_clusters where cluster is null").fetchone()[0]
        if signed == 0 and unclustered == 0:
            return {"signed": 0, "clustered": 0}
        parent = _link_candidates(db)
        _name_clusters(db, parent)
    return {"signed": signed, "clustered": db["article_clusters"].count}


def _signatures(db: sqlite_utils.Database) -> Iterator[tuple[str, bytes]]:
    cursor = db.execute("select article_id, signature from article_clusters "
                        "where signature is not null")
    while rows := cursor.fetchmany(BATCH):
        yield from rows


def band_ranges() -> list[tuple[int, int]]:
    """Byte ranges of a stored signature, one per LSH band, as datasketch lays them out for
    ``THRESHOLD`` and ``NUM_PERM``."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    width = np.dtype(np.uint32).itemsize
    return [(start * width, end * width) for start, end in lsh.hashranges]


def _link_candidates(db: sqlite_utils.Database) -> dict[str, str]:
    """Union-find parents of the articles that share a band with another article."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while key != root:  # path compression keeps later finds short
            parent[key], key = root, parent[key]
        return root

    for start, end in band_ranges():
        first: dict[bytes, str] = {}  # this band's hashes -> first article that had them
        for article_id, blob in _signatures(db):
            other = first.setdefault(blob[start:end], article_id)
            if other != article_id:
                a, b = find(article_id), find(other)
                if a != b:
                    parent[a] = b
                    parent.setdefault(b, b)  # roots are members too
    return {key: find(key) for key in list(parent)}


def _name_clusters(db: sqlite_utils.Database, parent: dict[str, str]) -> None:
    """A cluster is named after its earliest published member (then the smallest id): the
    record ``--dedup`` keeps. An article with no near-duplicate is its own cluster."""
    names: dict[str, str] = {}
    cursor = db.execute(
        "select id from articles order by published is null, published, id")
    updates: list[tuple[str, str]] = []
    while rows := cursor.fetchmany(BATCH):
        for (article_id,) in rows:
            root = parent.get(article_id)  # None: an article with no near-duplicate
            cluster = article_id if root is None else names.setdefault(root, article_id)
            updates.append((cluster, article_id))
        db.conn.executemany(
            "update article_clusters set cluster = ? where article_id = ?", updates)
        updates.clear()
