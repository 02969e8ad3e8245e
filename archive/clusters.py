"""Near-duplicate clusters: the same news republished by a district portal, its province's
portal and the provincial newspaper, with other chrome and small edits.

Every article gets a MinHash signature of the word 3-grams of its normalised body, kept in the
``article_clusters`` table and recomputed only when the body changed. Clustering then streams
the signatures through a MinHash LSH index (datasketch), joins the candidate pairs with
union-find, and names each cluster after its earliest published member. Memory grows with
the LSH band tables (a few hashes per article), never with the article texts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import numpy as np
import sqlite_utils
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 64  # permutations per signature: 256 bytes per article as uint32
SEED = 1
SCHEME = "affine32"  # datasketch's 32-bit permutations: signatures stored as uint32
SHINGLE_WORDS = 3
THRESHOLD = 0.5  # estimated Jaccard similarity of the shingle sets above which pages cluster
MIN_WORDS = 8  # bodies shorter than this are too short to call near-duplicates
BATCH = 1000
WORD = re.compile(r"\w+")


def shingles(text: str) -> set[bytes]:
    """The word 3-grams of ``text`` after NFC, case folding and dropping punctuation, so a
    republication that only changed a dash, a case or a line break shingles the same."""
    words = WORD.findall(unicodedata.normalize("NFC", text or "").casefold())
    if len(words) < MIN_WORDS:
        return set()
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode("utf-8")
            for i in range(len(words) - SHINGLE_WORDS + 1)}


def signature(text: str) -> bytes | None:
    """The MinHash signature of a body as bytes, or None for a body too short to compare."""
    grams = shingles(text)
    if not grams:
        return None
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(grams)
    return minhash.hashvalues.astype(np.uint32).tobytes()


def _minhash(blob: bytes) -> LeanMinHash:
    return LeanMinHash(seed=SEED, scheme=SCHEME,
                       hashvalues=np.frombuffer(blob, dtype=np.uint32))


def update_signatures(db: sqlite_utils.Database) -> int:
    """Sign the articles that are new or changed since the last run; forget deleted ones.
    Returns how many articles were (re)signed."""
    db.execute("delete from article_clusters "
               "where article_id not in (select id from articles)")
    stale = db.execute(
        "select a.id, a.digest, a.text from articles a "
        "left join article_clusters c on c.article_id = a.id "
        "where c.article_id is null or c.digest is not a.digest"
    )
    signed = 0
    while rows := stale.fetchmany(BATCH):
        db["article_clusters"].upsert_all(
            ({"article_id": id_, "digest": digest, "signature": signature(text),
              "cluster": None} for id_, digest, text in rows),
            pk="article_id",
        )
        signed += len(rows)
    return signed


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


def _link_candidates(db: sqlite_utils.Database) -> dict[str, str]:
    """Union-find parents of the articles LSH found near-duplicates of another."""
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.get(root, root) != root:
            root = parent[root]
        while key != root:  # path compression keeps later finds short
            parent[key], key = root, parent[key]
        return root

    # One pass: query each signature against those already inserted, then insert it; every
    # candidate pair is met once, from its later member.
    for article_id, blob in _signatures(db):
        minhash = _minhash(blob)
        for other in lsh.query(minhash):
            a, b = find(article_id), find(other)
            if a != b:
                parent[a] = b
        lsh.insert(article_id, minhash, check_duplication=False)
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
            root = parent.get(article_id, article_id)
            cluster = names.setdefault(root, article_id)
            updates.append((cluster, article_id))
        db.conn.executemany(
            "update article_clusters set cluster = ? where article_id = ?", updates)
        updates.clear()


def cluster_summary(clusters: dict[str, int]) -> dict[str, Any]:
    """From {cluster id: records exported in it}: clusters holding duplicates, and duplicates
    (records beyond the first of their cluster)."""
    multi = [n for n in clusters.values() if n > 1]
    return {"clusters_with_duplicates": len(multi), "duplicates": sum(n - 1 for n in multi),
            "distinct_articles": len(clusters)}
