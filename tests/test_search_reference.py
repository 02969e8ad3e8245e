"""Search through its date keys, filter tokens, prefixes and impact tiers gives what the
straightforward query gives: checked against a brute-force reference over a small generated
archive (articles inserted out of date order, portals in provinces merged in 2025)."""

from __future__ import annotations

import contextlib
import random
import unicodedata

import pytest

from archive import search
from archive.filters import Filters
from archive.index import open_index, store_article, upsert_portal
from archive.query import Term, parse_query
from archive.search import indexing, ranking, scope, scoring, tables, terms
from archive.vietnamese import exact_word, fold_word, words

SYLLABLES = ("nông thôn mới hội đồng nhân dân đường dương giao thông thủy lợi xã huyện "
             "tỉnh ngày người nghị quyết trường học hải hà hòa bình thanh hóa đương").split()
PORTALS = {"hp1": "Hải Phòng", "hp2": "Hải Phòng", "hd1": "Hải Dương", "qn1": "Quảng Ninh",
           "hue1": "Thừa Thiên Huế"}
CATEGORIES = ("Tin tức", "Văn hóa", None)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    rng = random.Random(3)
    db = open_index(tmp_path_factory.mktemp("search") / "index.db")
    for pid, province in PORTALS.items():
        upsert_portal(db, {"id": pid, "name": pid, "province": province, "district": None})
    articles = []
    for n in range(240):
        title = " ".join(rng.choices(SYLLABLES, k=rng.randint(3, 8))).capitalize()
        text = " ".join(rng.choices(SYLLABLES, k=rng.randint(10, 80))) + "."
        day = f"{rng.randint(2005, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        published = day + ("T08:30:00+07:00" if n % 3 == 0 else "")
        row = {"url": f"http://x.test/{n}", "portal": rng.choice(list(PORTALS)),
               "title": title, "published": published if n % 17 else None,
               "category": rng.choice(CATEGORIES), "summary": None, "text": text,
               "digest": f"d{n}", "warc_file": "a.warc.gz", "warc_offset": n, "warc_length": 1,
               "payload_digest": f"sha1:{n}", "source": "ia" if n % 5 == 0 else "live"}
        store_article(db, row, captured="2025-01-01T00:00:00Z")
        articles.append(row)
    # One article changes after it was indexed (a new version with a new date and words).
    changed = dict(articles[5], title="Hội đồng thay đổi", published="2001-01-01",
                   digest="changed")
    store_article(db, changed, captured="2025-02-01T00:00:00Z")
    articles[5] = changed
    assert search.maintain(db, min_articles=0, min_df=2)
    db.conn.commit()
    return db, articles


def matches(article: dict, query: str, exact: bool = False) -> bool:
    """The reference: what the query means, read off the article's words."""
    parsed = parse_query(query)
    body = "\n".join(x for x in (article["summary"], article["text"]) if x)
    seq = words(article["title"] or "") + ["\x00"] + words(body)

    def has(term: Term) -> bool:
        form = exact_word if exact and not term.prefix else fold_word
        seen = [form(w) for w in seq]
        wanted = [form(w) for w in term.words]
        if term.prefix:
            return any(w.startswith(wanted[0]) for w in seen)
        n = len(wanted)
        return any(seen[i:i + n] == wanted for i in range(len(seen) - n + 1))

    return any(all(has(t) for t in g) for g in parsed.groups) and not any(
        has(t) for t in parsed.excluded)


def in_scope(article: dict, spec: dict) -> bool:
    province_of = PORTALS[article["portal"]]
    if "portals" in spec and article["portal"] not in spec["portals"]:
        return False
    if "province" in spec:
        wanted = fold_word(spec["province"])
        names = {fold_word(province_of)} | ({"hai phong"} if province_of == "Hải Dương"
                                             else set())
        if wanted not in names:
            return False
    published = article["published"] or ""  # periods: YYYY, YYYY-MM or YYYY-MM-DD
    if "since" in spec and not (published and published[:len(spec["since"])] >= spec["since"]):
        return False
    if "until" in spec and not (published and published[:len(spec["until"])] <= spec["until"]):
        return False
    if "category" in spec and (article["category"] or "").casefold() != spec["category"]:
        return False
    if "sources" in spec and article["source"] not in spec["sources"]:
        return False
    return True


QUERIES = ["nong thon", "hội đồng", '"nông thôn mới"', "ng*", "th*", "huy*", "dương",
           "duong -giao", "thuy loi OR hai ha", '"hoa binh"', "hóa",
           # Phrases of three words: an article may hold their pairs apart.
           '"xa huyen tinh"', '"huyen xa huyen"', 'xa -"hội đồng nhân"']
SCOPES = [{}, {"portals": ["hp1"]}, {"province": "Hải Phòng"}, {"province": "hai duong"},
          {"since": "2015-01-01"}, {"until": "2010-06-30"},
          {"since": "2010-01-01", "until": "2012-12-31", "province": "Quảng Ninh"},
          {"since": "2012", "until": "2014-06", "portals": ["hp1", "qn1"]},
          {"category": "văn hóa"}, {"sources": ["ia"], "since": "2015"}]


def newest_order(articles: list[dict]) -> list[str]:
    def key(a: dict) -> tuple[str, int]:
        published = (a["published"] or "").replace("T", " ")[:16]
        return published, int(a["url"].rsplit("/", 1)[1])
    return [a["url"] for a in sorted(articles, key=key, reverse=True)]


@pytest.mark.parametrize("spec", SCOPES, ids=[str(s) for s in SCOPES])
@pytest.mark.parametrize("query", QUERIES)
# (3, ...): span by span, as when broad, each span's articles in scope checked one by one
# (SPAN 1000) or through FTS5 with the span's date terms (SPAN 0).
@pytest.mark.parametrize(("probe", "span"), [(scope.PROBE, scope.SPAN), (3, 1000), (3, 0)])
def test_newest_first_and_count_equal_the_reference(archive, query, spec, probe, span,
                                                    monkeypatch):
    monkeypatch.setattr(scope, "PROBE", probe)
    monkeypatch.setattr(scope, "SPAN", span)
    db, articles = archive
    expected = [a for a in articles if matches(a, query) and in_scope(a, spec)]
    filters = Filters(**spec)
    hits = search.search(db, query, filters=filters, sort="newest", limit=1000)
    assert [h["url"] for h in hits] == newest_order(expected)
    assert search.count(db, query, filters=filters) == len(expected)
    page = search.search(db, query, filters=filters, sort="newest", limit=4)
    assert [h["url"] for h in page] == newest_order(expected)[:4]
    oldest = search.search(db, query, filters=filters, sort="oldest", limit=5, offset=2)
    assert [h["url"] for h in oldest] == newest_order(expected)[::-1][2:7]


@pytest.mark.parametrize("spec", SCOPES[:4], ids=[str(s) for s in SCOPES[:4]])
@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("candidates", [400, 12])
def test_relevance_finds_the_same_articles(archive, query, spec, candidates):
    db, articles = archive
    expected = {a["url"] for a in articles if matches(a, query) and in_scope(a, spec)}
    hits = search.search(db, query, filters=Filters(**spec), limit=1000,
                         candidates=max(candidates, 1000))
    assert {h["url"] for h in hits} == expected
    few = search.search(db, query, filters=Filters(**spec), limit=10,
                        candidates=candidates)
    assert {h["url"] for h in few} <= expected and len(few) == min(10, len(expected))


@pytest.mark.parametrize("query", ["dương", "hội đồng", "hóa", '"hòa bình"'])
def test_exact_diacritics_come_first(archive, query):
    db, articles = archive
    exact = {a["url"] for a in articles if matches(a, query, exact=True)}
    hits = [h["url"] for h in search.search(db, query, limit=1000)]
    assert exact and set(hits[:len(exact)]) == exact
    assert {h["url"] for h in search.search(db, query, exact=True, limit=1000)} == exact


def fts5_bm25(db, query: str) -> dict[int, float]:
    """FTS5's own bm25() over a table of the same words with their positions (the search
    table keeps none), for a query of words, phrases and excluded words, diacritics
    ignored."""
    columns = tables.FTS_COLUMNS[:tables.LENGTH_COLUMNS]
    db.execute(f"create virtual table if not exists positions using fts5({', '.join(columns)}, "
               "tokenize='unicode61 remove_diacritics 0')")
    db.execute("delete from positions")
    for key, *row in db.execute("select rowid, title, summary, text, published, portal, "
                                "source, category from articles").fetchall():
        article = dict(zip(["title", "summary", "text", "published", "portal", "source",
                            "category"], row, strict=True))
        db.execute(f"insert into positions(rowid, {', '.join(columns)}) values (?, ?, ?, ?, ?, ?)",
                   [key, *search.search_columns(article), " ".join(terms.meta_tokens(article))])
    parsed = parse_query(query)

    def phrase(t: Term) -> str:
        return '"' + " ".join(map(fold_word, t.words)) + '"'

    expr = " OR ".join("(" + " AND ".join(phrase(t) for t in g) + ")" for g in parsed.groups)
    if parsed.excluded:
        expr = f"({expr}) NOT ({' OR '.join(map(phrase, parsed.excluded))})"
    sql = ("select rowid, -bm25(positions, 10.0, 1.0, 10.0, 1.0, 0.0) from positions "
           "where positions match ?")
    return dict(db.execute(sql, [f"{{title_f body_f}} : ({expr})"]).fetchall())


@pytest.mark.parametrize("query", ["nong thon", '"nông thôn mới"', "giao", "xa huyen",
                                   "thuy loi OR hai ha", "duong -giao", '"xa huyen" tinh',
                                   'thuy loi -"nhan dan duong"'])
def test_scores_are_fts5_bm25(archive, query):
    db, _ = archive
    reference = fts5_bm25(db, query)
    parsed = parse_query(query)
    ranked = scoring.Scorer(db, parsed, "folded").rank(list(reference))
    assert sorted(ranked) == sorted(reference)
    scores = [reference[k] for k in ranked]
    if len(parsed.terms) == 1:  # one term: its idf is left out, the order is the same
        assert scores == sorted(scores, reverse=True)
    else:
        assert scores == pytest.approx(sorted(scores, reverse=True), rel=1e-6)


@pytest.mark.parametrize("query", ["giao", "huyen", "nhan", "ng*", "th*"])
def test_one_word_tiers_give_bm25_top(archive, query):
    # With fewer candidates allowed than there are matches, the top comes from the impact
    # tiers: for one word they hold its highest-weighted articles, so the top is bm25's own.
    db, _ = archive
    hits = search.search(db, query, limit=5, candidates=15)
    full = search.search(db, query, limit=5, candidates=100000)
    assert len(hits) == 5 and [h["url"] for h in hits] == [h["url"] for h in full]


@pytest.mark.parametrize("eager", [ranking.EAGER, 1])  # 1: scored from the first level on
def test_a_page_the_tiers_call_exact_is_bm25s_own(archive, eager, monkeypatch):
    # The threshold algorithm stops reading when no article left can beat the page's last
    # score; a page it calls exact must be what scoring every match gives, and it must get
    # there for several words (not only one, whose tiers are its top by construction).
    monkeypatch.setattr(ranking, "EAGER", eager)
    db, _ = archive
    everything = scope.filter_scope(db, Filters())
    exact_pages = set()
    for query in ["xa huyen", "hội đồng", "giao thong", "nong thon", "nhan dan tinh",
                  "thuy loi OR hai ha", "ng* xa"]:
        parsed = parse_query(query)
        source = scope.source_for(parsed, "folded")
        found = source.matching(db, everything)
        scorer = scoring.Scorer(db, parsed, "folded")
        full = scorer.rank(found)
        for wanted in (1, 3, 5):
            for budget in (5, 40):
                page, exact = ranking.by_impact(db, scorer, everything, wanted, budget,
                                                source, found[:21], 20)
                if exact:
                    exact_pages.add(query)
                    assert page[:wanted] == full[:wanted], (query, wanted, budget)
    assert len(exact_pages) >= 2


def test_province_names_come_from_the_index(archive):
    db, _ = archive
    found = db.execute("select name, portal from portal_provinces order by 1, 2").fetchall()
    assert ("hai phong", "hd1") in found and ("hai duong", "hd1") in found
    assert ("hai duong", "hp1") not in found
    assert unicodedata.is_normalized("NFC", found[0][0])


def test_an_archive_indexed_before_upgrades_in_place(tmp_path):
    # An index as the previous version left it: one FTS5 table keyed by the articles' rowids,
    # no province names. Opening it migrates it, and search answers as on a new index.
    path = tmp_path / "index.db"
    db = open_index(path)
    upsert_portal(db, {"id": "hd1", "name": "hd1", "province": "Hải Dương", "district": None})
    row = {"url": "http://x.test/1", "portal": "hd1", "title": "Hội đồng nhân dân",
           "published": "2020-05-01", "text": "Kỳ họp thứ nhất.", "digest": "d1",
           "warc_file": "a.warc.gz", "warc_offset": 0, "warc_length": 1}
    store_article(db, row, captured="2025-01-01T00:00:00Z")
    with db.conn:
        indexing.drop_tables(db)
        db.execute("drop table portal_provinces")
        db.execute("delete from _sqlite_migrations where name in (?, ?)",
                   ["m_search_001_filter_terms_tiers_provinces", search.SEARCH_MIGRATION])
        db.execute("create virtual table search_fts using fts5(title_f, body_f, title_x, "
                   "body_x, content='', tokenize='unicode61 remove_diacritics 0')")
        db.execute("insert into search_fts(rowid, title_f, body_f, title_x, body_x) "
                   "values (1, ?, ?, ?, ?)", search.search_columns(row))
    db.close()
    assert search.connect(path) is None  # too old to read as it is
    open_index(path).close()
    reader = search.connect(path)
    assert reader is not None
    with contextlib.closing(reader):
        hits = search.search(reader, "hoi dong", filters=Filters(province="Hải Phòng"),
                             sort="newest")
    assert [h["url"] for h in hits] == [row["url"]]
