"""Search latency and ranking quality on a synthetic archive of Vietnamese articles.

    python bench/search_bench.py --articles 100000            # builds /tmp/search-bench-100000.db
    python bench/search_bench.py --articles 1000000 --queries 10 --ref 3

The archive (built once per --db) is made to look like the real thing:
- text from a syllable model learned from the project's own fixture articles
  (``portal_archive/demo/fixtures/gold``): their syllables ranked Zipf-like by frequency, their
  syllable bigrams followed a third of the time (so "nông thôn mới" is a phrase, as in real
  news), and thousands more syllables built from the onsets, rhymes and tones seen in them,
  dates and document numbers; articles of 80 to 1,500 syllables;
- about 480 portals in 40 pre-2025 provinces: one provincial portal per province holding
  about 1% of the articles, the rest district portals;
- publication dates independent of the order of insertion (a recovery from web archives
  adds old articles late), so rowid order says nothing about dates.

Every query class runs with no filter, each filter and both sorts; the table gives p50/p95
milliseconds of ``archive.search.search`` (top 20 with snippets), the same for plain FTS5
(``unicode61 remove_diacritics 2`` over title and text, bm25, or newest first), and for
relevance the share of our top 20 found in the top 20 of bm25 over every match (same
tiers: exact diacritics first; every match scored, which tests/test_search_reference.py
holds equal to FTS5's own bm25()), the reference the ranking approximates. Besides the
classes made with the archive, "unlikely phrase": three common syllables seldom adjacent,
as a person's name is. Last, the index's size against the text's.

An archive built by an earlier version is migrated (indexed again) when opened; --reindex
indexes it again without a migration, after a change to what the index holds.
"""

from __future__ import annotations

import argparse
import bisect
import glob
import json
import math
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive import search as search_module  # noqa: E402
from archive.filters import Filters  # noqa: E402
from archive.index import migrations as index_migrations  # noqa: E402
from archive.index import open_index, upsert_portal  # noqa: E402
from archive.query import parse_query  # noqa: E402
from archive.search.scoring import Scorer  # noqa: E402
from archive.search.tables import AUX_TABLE, FTS_TABLE  # noqa: E402
from archive.vietnamese import fold_word  # noqa: E402

GOLD = ROOT / "portal_archive" / "demo" / "fixtures" / "gold"
WORD = re.compile(r"\w+")

# -- the syllable model ------------------------------------------------------------------------

TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
ONSETS = sorted(["ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c",
                 "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x"],
                key=len, reverse=True)
VOWELS = set("aăâeêioôơuưy")
STOP_CODAS = ("p", "t", "c", "ch")


def split_syllable(syllable: str) -> tuple[str, str, str] | None:
    """(onset, rhyme, tone mark) of a Vietnamese syllable, or None for other words."""
    nfd = unicodedata.normalize("NFD", syllable)
    tones = [c for c in nfd if c in TONE_MARKS]
    bare = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in TONE_MARKS))
    if not bare.isalpha() or len(tones) > 1:
        return None
    onset = next((o for o in ONSETS if bare.startswith(o) and len(bare) > len(o)), "")
    rhyme = bare[len(onset):]
    if not rhyme or rhyme[0] not in VOWELS or not all(c in VOWELS or c.isalpha() for c in rhyme):
        return None
    return onset, rhyme, tones[0] if tones else ""


def join_syllable(onset: str, rhyme: str, tone: str) -> str:
    """The syllable with its tone on the vowel that carries it (the main vowel: the marked
    one, else the last before a final consonant, else the first of two)."""
    if not tone:
        return onset + rhyme
    letters = list(rhyme)
    vowels = [i for i, c in enumerate(letters) if c in VOWELS]
    marked = [i for i in vowels if c_has_quality(letters[i])]
    if marked:
        at = marked[-1]
    elif vowels[-1] < len(letters) - 1 or len(vowels) == 1:
        at = vowels[-1]
    else:
        at = vowels[-2] if len(vowels) >= 2 else vowels[-1]
    letters[at] = unicodedata.normalize("NFC", letters[at] + tone)
    return onset + "".join(letters)


def c_has_quality(c: str) -> bool:
    return c in "ăâêôơư"


class TextModel:
    """Syllables, their Zipf weights and the fixture bigrams, from the gold articles."""

    def __init__(self, rng: random.Random, extra_syllables: int = 5000) -> None:
        counts: Counter[str] = Counter()
        self.successors: dict[str, Counter[str]] = defaultdict(Counter)
        self.sentences: list[list[str]] = []
        for path in sorted(glob.glob(str(GOLD / "*" / "*.json"))):
            record = json.loads(Path(path).read_text(encoding="utf-8"))
            for part in [record.get("title") or "", record.get("summary") or "",
                         *(record.get("body") or [])]:
                for sentence in re.split(r"[.;:!?]\s", part):
                    tokens = WORD.findall(unicodedata.normalize("NFC", sentence).lower())
                    counts.update(tokens)
                    for a, b in zip(tokens, tokens[1:], strict=False):
                        self.successors[a][b] += 1
                    if len(tokens) >= 3:
                        self.sentences.append(tokens)
        parts = [p for p in map(split_syllable, counts) if p]
        onsets = Counter(o for o, _, _ in parts)
        rhymes = Counter(r for _, r, _ in parts)
        tones = Counter(t for _, _, t in parts)
        made: list[str] = []
        seen = set(counts)
        pick = _weighted_picker(rng)
        while len(made) < extra_syllables:
            onset, rhyme, tone = pick(onsets), pick(rhymes), pick(tones)
            if rhyme.endswith(STOP_CODAS) and tone not in ("\u0301", "\u0323"):
                continue
            syllable = join_syllable(onset, rhyme, tone)
            if syllable not in seen:
                seen.add(syllable)
                made.append(syllable)
        self.gold = counts
        self.vocabulary = [w for w, _ in counts.most_common()] + made
        weights = [1 / (rank + 2.7) for rank in range(len(self.vocabulary))]
        self.cumulative = _cumulate(weights)
        self.follow = {a: (list(c), _cumulate(list(c.values())))
                       for a, c in self.successors.items()}
        # Rare words: codes, place and person names, foreign words; most appear in a handful
        # of articles, a few in hundreds.
        self.rare = [f"{rng.choice(made)}{rng.choice(made)}" for _ in range(20000)]
        self.rare_cumulative = _cumulate([1 / (r + 1) ** 1.1 for r in range(len(self.rare))])

    def sentence(self, rng: random.Random, n: int) -> list[str]:
        out: list[str] = []
        vocab, cumulative = self.vocabulary, self.cumulative
        total = cumulative[-1]
        while len(out) < n:
            prev = out[-1] if out else None
            if prev is not None and prev in self.follow and rng.random() < 0.35:
                words, cum = self.follow[prev]
                out.append(words[bisect.bisect(cum, rng.random() * cum[-1])])
            else:
                out.append(vocab[bisect.bisect(cumulative, rng.random() * total)])
        return out

    def rare_word(self, rng: random.Random) -> str:
        cum = self.rare_cumulative
        return self.rare[bisect.bisect(cum, rng.random() * cum[-1])]

    def text(self, rng: random.Random, syllables: int) -> str:
        sentences = []
        written = 0
        while written < syllables:
            words = self.sentence(rng, rng.randint(8, 30))
            if rng.random() < 0.15:
                words += ["ngày", f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/"
                          f"{rng.randint(2000, 2025)}"]
            if rng.random() < 0.08:
                words += ["số", f"{rng.randint(1, 3000)}/QĐ-UBND"]
            if rng.random() < 0.12:
                words.append(self.rare_word(rng).capitalize())
            written += len(words)
            sentences.append(" ".join(words).capitalize() + rng.choice(".,.."))
        return " ".join(sentences)


def _weighted_picker(rng: random.Random) -> Callable[[Counter[str]], str]:
    def pick(counter: Counter[str]) -> str:
        items = list(counter)
        return rng.choices(items, [counter[i] for i in items])[0]
    return pick


def _cumulate(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


# -- the archive -------------------------------------------------------------------------------

PROVINCES = ["Hà Giang", "Cao Bằng", "Lào Cai", "Yên Bái", "Tuyên Quang", "Lạng Sơn",
             "Bắc Giang", "Bắc Ninh", "Quảng Ninh", "Hải Phòng", "Hải Dương", "Hưng Yên",
             "Thái Bình", "Nam Định", "Ninh Bình", "Hà Nam", "Thanh Hóa", "Nghệ An", "Hà Tĩnh",
             "Quảng Bình", "Quảng Trị", "Thừa Thiên Huế", "Quảng Nam", "Quảng Ngãi",
             "Bình Định", "Phú Yên", "Khánh Hòa", "Gia Lai", "Kon Tum", "Đắk Lắk", "Lâm Đồng",
             "Đồng Nai", "Bình Dương", "Long An", "Tiền Giang", "Bến Tre", "Vĩnh Long",
             "Cần Thơ", "Hậu Giang", "Sóc Trăng"]
# The 2025 provinces the province filters below name, and the pre-2025 ones each covers.
MERGED = {"Hải Phòng": {"Hải Phòng", "Hải Dương"}, "Quảng Ninh": {"Quảng Ninh"}}


def portals() -> list[tuple[str, str, float]]:
    """(id, province, share of the articles): a provincial portal of ~1% per province,
    eleven district portals sharing the rest of the province's ~2.5%."""
    out = []
    for i, province in enumerate(PROVINCES):
        out.append((f"p{i:02d}", province, 0.01))
        out += [(f"p{i:02d}d{j:02d}", province, 0.015 / 11) for j in range(11)]
    return out


def published(rng: random.Random) -> str:
    year = int(2005 + 21 * math.sqrt(rng.random()))  # more news in later years
    day = f"{min(year, 2025):04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.3:
        return f"{day}T{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}:00+07:00"
    return day


def build(path: Path, n: int, seed: int = 17) -> dict[str, list[str]]:
    rng = random.Random(seed)
    model = TextModel(rng)
    table = portals()
    portal_ids = [p for p, _, _ in table]
    portal_cum = _cumulate([share for _, _, share in table])
    db = open_index(path)
    for pid, province, _ in table:
        upsert_portal(db, {"id": pid, "name": pid, "province": province, "district": None})
    conn: sqlite3.Connection = db.conn
    conn.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    rare_seen: Counter[str] = Counter()
    rare = set(model.rare)
    vocabulary: set[str] = set()
    batch = []
    for i in range(1, n + 1):
        title = " ".join(model.sentence(rng, rng.randint(8, 20))).capitalize()
        length = int(min(1500, max(80, rng.lognormvariate(math.log(350), 0.5))))
        text = model.text(rng, length)
        summary = model.text(rng, 30) if rng.random() < 0.3 else None
        pid = portal_ids[bisect.bisect(portal_cum, rng.random() * portal_cum[-1])]
        tokens = WORD.findall(f"{title} {summary or ''} {text}".lower())
        vocabulary.update(tokens)
        rare_seen.update(w for w in tokens if w in rare)
        batch.append({"id": f"a{i}", "url": f"http://{pid}.test/tin/{i}.html", "portal": pid,
                      "title": title, "published": published(rng), "category": "Tin tức",
                      "summary": summary, "text": text, "digest": f"d{i}",
                      "warc_file": "x.warc.gz", "warc_offset": i, "warc_length": 1,
                      "version": 1})
        if len(batch) == 2000 or i == n:
            db["articles"].insert_all(batch, batch_size=500)
            conn.commit()
            batch = []
            rate = i / (time.perf_counter() - started)
            print(f"\r  wrote {i:,}/{n:,} articles ({rate:,.0f}/s)", end="", file=sys.stderr)
    print("\n  indexing them as a migration or reindex does ...", file=sys.stderr)
    indexed = [0]

    def progress(step: int) -> None:
        indexed[0] += step
        print(f"\r  indexed {indexed[0]:,}/{n:,}", end="", file=sys.stderr)

    search_module.create_index(db, progress=progress)
    conn.commit()
    print(file=sys.stderr)
    print("  plain FTS5 baseline ...", file=sys.stderr)
    conn.execute("create virtual table plain_fts using fts5(title, text, content='articles', "
                 "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')")
    conn.execute("insert into plain_fts(plain_fts) values ('rebuild')")
    conn.execute("insert into plain_fts(plain_fts) values ('optimize')")
    print("  optimizing ...", file=sys.stderr)
    finish_index(db)
    queries = make_queries(model, rare_seen, n)
    conn.execute("create table bench_meta(articles int, words int, queries text)")
    conn.execute("insert into bench_meta values (?, ?, ?)",
                 [n, len(vocabulary), json.dumps(queries, ensure_ascii=False)])
    conn.commit()
    return queries


def finish_index(db) -> None:
    for table in (FTS_TABLE, AUX_TABLE):
        db.execute(f"insert into {table}({table}) values ('optimize')")


def make_queries(model: TextModel, rare_seen: Counter[str], n: int) -> dict[str, list[str]]:
    rng = random.Random(5)
    common = [w for w, _ in model.gold.most_common(80) if w.isalpha()][:30]
    bigrams: Counter[tuple[str, ...]] = Counter()
    trigrams: Counter[tuple[str, ...]] = Counter()
    for s in model.sentences:
        bigrams.update(zip(s, s[1:], strict=False))
        trigrams.update(zip(s, s[1:], s[2:], strict=False))
    two = [" ".join(b) for b, _ in bigrams.most_common(200)
           if all(w.isalpha() for w in b) and b[0] != b[1]][:30]
    three = [" ".join(t) for t, _ in trigrams.most_common(200)
             if all(w.isalpha() for w in t)][:30]
    folded = [" ".join(fold_word(w) for w in q.split()) for q in (two[::2] + three[1::2])]
    low, high = max(2, n // 50000), max(20, n // 1000)
    rare = [w for w, c in rare_seen.items() if low <= c <= high]
    rng.shuffle(rare)
    prefixes = ["ng*", "th*", "tr*", "ch*", "nh*", "kh*", "ph*", "gi*", "qu*", "ca*", "ho*",
                "ba*", "da*", "to*", "vi*", "huy*", "tha*", "ngh*", "chu*", "tru*", "ngu*",
                "thu*", "kha*", "phu*", "qua*", "hoa*", "dan*", "cho*", "tro*", "xay*"]
    return {"common word": common, "two common words": two, "rare word": rare[:30],
            "no diacritics": folded[:30], "3-syllable phrase": [f'"{t}"' for t in three],
            "prefix": prefixes}


# -- measuring ---------------------------------------------------------------------------------

FILTERS = {
    "none": {},
    "portal 1%": {"portals": ["p17"]},
    "province": {"province": "Hải Phòng"},
    "old dates": {"since": "2006-01-01", "until": "2007-12-31"},
    "since+prov": {"since": "2023-01-01", "province": "Quảng Ninh"},
}


def reference_where(spec: dict, table: list[tuple[str, str, float]]) -> tuple[str, list]:
    """The filter as plain SQL over ``articles a``, written here, not by the code measured."""
    clauses, params = [], []
    wanted = list(spec.get("portals", []))
    if "province" in spec:
        olds = MERGED[spec["province"]]
        wanted += [p for p, province, _ in table if province in olds]
    if wanted:
        clauses.append(f"a.portal in ({', '.join('?' * len(wanted))})")
        params += wanted
    if "since" in spec:
        clauses.append("a.published >= ?")
        params.append(spec["since"])
    if "until" in spec:
        clauses.append("substr(a.published, 1, 10) <= ?")
        params.append(spec["until"])
    return "".join(f" and {c}" for c in clauses), params


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def timed(fn: Callable[..., object], *args: object) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - t) * 1000, result


def index_bytes(conn: sqlite3.Connection) -> int:
    """Every page of the search structures (tables and indexes named search_*)."""
    return conn.execute("select coalesce(sum(pgsize), 0) from dbstat "
                        "where name like 'search%'").fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="default /tmp/search-bench-N.db")
    parser.add_argument("--queries", type=int, default=20, help="queries timed per row")
    parser.add_argument("--ref", type=int, default=5,
                        help="queries per row also run by plain FTS5 and ranked by full bm25 "
                             "(0: none; these take seconds each at a million articles)")
    parser.add_argument("--classes", help="comma-separated query classes (default: all)")
    parser.add_argument("--filters", help="comma-separated filters (default: all)")
    parser.add_argument("--reindex", action="store_true",
                        help="index the archive's articles again first (after a change to "
                             "what the index holds that no migration announces)")
    parser.add_argument("--cli", type=int, default=0, metavar="N",
                        help="also time N runs of the command line (a search with no filter, "
                             "start-up included), then stop")
    args = parser.parse_args()
    path = args.db or Path(f"/tmp/search-bench-{args.articles}.db")

    if path.exists():
        have = sqlite3.connect(path).execute(
            "select articles, words, queries from bench_meta").fetchone()
        if not have or have[0] != args.articles:
            sys.exit(f"{path} holds another archive: remove it or choose --db")
        distinct, queries = have[1], json.loads(have[2])
    else:
        print(f"Building {args.articles:,} articles into {path} ...", file=sys.stderr)
        t = time.perf_counter()
        build(path, args.articles)
        distinct, queries = sqlite3.connect(path).execute(
            "select words, queries from bench_meta").fetchone()
        queries = json.loads(queries)
        print(f"  built in {time.perf_counter() - t:,.0f} s", file=sys.stderr)

    probe = sqlite_utils.Database(path)
    stale, _ = index_migrations.pending(probe), probe.close()
    if stale or args.reindex:
        # An archive built by an earlier version: opening it migrates it, which indexes
        # every article again (as a user's archive is), then the tables are optimized.
        print(f"Indexing every article of {path} again ...", file=sys.stderr)
        t = time.perf_counter()
        db = open_index(path)
        if not stale:
            search_module.create_index(db)
        finish_index(db)
        db.conn.commit()
        db.close()
        print(f"  indexed in {time.perf_counter() - t:,.0f} s", file=sys.stderr)
    db = open_index(path)
    conn = db.conn
    table = portals()
    # Three common syllables seldom adjacent, as a person's name is ("Nguyễn Văn Hùng"):
    # a phrase index must not read every article holding the words to find the few.
    rng = random.Random(11)
    queries["unlikely phrase"] = ['"' + " ".join(rng.sample(queries["common word"], 3)) + '"'
                                  for _ in range(30)]
    text_bytes = conn.execute(
        "select sum(length(cast(title as blob)) + coalesce(length(cast(summary as blob)), 0) "
        "+ length(cast(text as blob))) from articles").fetchone()[0]
    load = os.getloadavg()
    print(f"{args.articles:,} articles, {text_bytes / 1e9:.2f} GB of text"
          + f", {distinct:,} distinct words"
          + f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")

    def plain(q: str, spec: dict, sort: str) -> list:
        where, params = reference_where(spec, table)
        fts_q = " ".join(f'"{w}"' if not w.endswith("*") else f'"{w[:-1]}"*'
                         for w in q.replace('"', " ").split()) if not q.startswith('"') else q
        order = "bm25(plain_fts, 10.0, 1.0)" if sort == "relevance" else "a.published desc"
        return conn.execute(
            "select f.rowid, snippet(plain_fts, 1, '[', ']', '…', 12) from plain_fts f "
            f"join articles a on a.rowid = f.rowid where plain_fts match ?{where} "
            f"order by {order} limit 20", [fts_q, *params]).fetchall()

    def ours(q: str, spec: dict, sort: str) -> list[dict]:
        filters = Filters(**spec)
        return search_module.search(db, q, filters=filters, sort=sort, limit=20)

    if args.cli:
        time_cli(path, args.cli)
        return
    classes = args.classes.split(",") if args.classes else list(queries)
    names = args.filters.split(",") if args.filters else list(FILTERS)
    print(f"{'query class':<19}{'filter':<12}{'sort':<10}{'ours p50/p95 ms':>17}"
          f"{'FTS5 p50/p95 ms':>17}{'top20 = bm25':>14}{'hits':>6}")
    worst = 0.0
    for name in classes:
        for fname in names:
            spec = FILTERS[fname]
            for sort in ("relevance", "newest"):
                mine, theirs, overlap, hits = [], [], [], []
                for k, q in enumerate(queries[name][:args.queries]):
                    ms, found = timed(ours, q, spec, sort)
                    mine.append(ms)
                    hits.append(len(found))
                    if k >= args.ref:
                        continue
                    theirs.append(timed(plain, q, spec, sort)[0])
                    if sort == "relevance":
                        best = full_bm25(db, q, spec, table)
                        if best:
                            got = [h["id"] for h in found]
                            overlap.append(len(set(got) & set(best)) / len(best))
                worst = max(worst, pct(mine, .95))
                fts = (f"{pct(theirs, .5):>8,.0f} / {pct(theirs, .95):<6,.0f}" if theirs
                       else f"{'-':>8}   {'':<6}")
                print(f"{name:<19}{fname:<12}{sort:<10}{pct(mine, .5):>8.1f} / "
                      f"{pct(mine, .95):<6.1f}{fts}"
                      f"{(f'{statistics.mean(overlap):.0%}' if overlap else '-'):>14}"
                      f"{statistics.mean(hits):>6.0f}", flush=True)
    size = index_bytes(conn)
    plain_size, tools_size = (conn.execute(
        "select coalesce(sum(pgsize), 0) from dbstat where name like ?", [f"{name}%"]
    ).fetchone()[0] for name in ("plain_fts", "articles_fts"))
    load = os.getloadavg()
    print(f"\nworst p95: {worst:.1f} ms")
    print(f"index size / text size: ours {size / text_bytes:.2f}x ({size / 1e9:.2f} GB), "
          f"plain FTS5 {plain_size / text_bytes:.2f}x ({plain_size / 1e9:.2f} GB); "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"not counted above: articles_fts, the FTS5 index Datasette and sqlite-utils search, "
          f"{tools_size / text_bytes:.2f}x ({tools_size / 1e9:.2f} GB)")


def time_cli(path: Path, runs: int) -> None:
    """Wall time of ``portal-archive search`` as a user runs it, in a fresh process each time
    (the data directory is a temporary one whose index.db is the benchmark's archive)."""
    with tempfile.TemporaryDirectory(prefix="search-bench-") as data:
        (Path(data) / "index.db").symlink_to(path.resolve())
        command = [sys.executable, "-m", "portal_archive.cli", "--data", data, "search",
                   "nông thôn mới"]
        subprocess.run(command, capture_output=True, check=True)  # warm the page cache
        walls = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=True)
            walls.append((time.perf_counter() - started) * 1000)
    load = os.getloadavg()
    print(f"portal-archive search 'nông thôn mới' ({runs} runs): p50 {pct(walls, .5):.0f} ms, "
          f"p95 {pct(walls, .95):.0f} ms, min {min(walls):.0f} ms; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def full_bm25(db, q: str, spec: dict, table) -> list[str]:
    """Article ids of the top 20 by bm25 over every match, tier by tier (words typed with
    diacritics matched exactly first), filtered by plain SQL: every article the index's
    expression finds is checked against its text and scored (``Scorer``, whose scores
    tests/test_search_reference.py holds equal to FTS5's own bm25() over a table with word
    positions), not only those the ranking chose to score."""
    query = parse_query(q)
    where, params = reference_where(spec, table)
    tiers = ["marked", "folded"] if query.marked else ["folded"]
    found: list[str] = []
    for tier in tiers:
        keys = [k for (k,) in db.execute(
            # CROSS JOIN: the matches read once, then their articles (SQLite would
            # otherwise walk a filter's articles and run the expression for each).
            f"select a.rowid from {FTS_TABLE} f cross join articles a on a.rowid = f.rowid "
            f"where {FTS_TABLE} match ?{where}", [query.fts(tier), *params])]
        scores: dict[int, float] = {}
        scorer = Scorer(db, query, tier)
        for i in range(0, len(keys), 2000):
            scores.update(scorer.scores(keys[i:i + 2000], verify=True))
        best = sorted(scores, key=lambda k: (-scores[k], -k))[:20]
        ids = dict(db.execute(f"select rowid, id from articles where rowid in "
                              f"({', '.join(map(str, best))})")) if best else {}
        for key in best:
            if ids[key] not in found and len(found) < 20:
                found.append(ids[key])
    return found


if __name__ == "__main__":
    main()
