"""Properties of search queries, filters and export records, over any input Hypothesis makes."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.export.records import FIELDS, inert
from archive.export.tabular import CsvWriter, JsonlWriter
from archive.filters import FilterError, Filters, period
from archive.query import QueryError, parse_query
from archive.search import indexing
from archive.search.tables import MATCHES

# Text as users type it: letters with and without diacritics, digits, FTS5's own syntax.
QUERY_TEXT = st.text(alphabet=st.sampled_from(list(
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạếềểễệóòỏõọớờởỡợúùủũụ AND OR NOT NEAR"
    "0123456789\"'*-^():{}+.,;/\\\t\n") + ["\x00", "\u0301", "\u00a0"]), max_size=60)


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite_utils.Database]:
    """The search tables as the index makes them, holding one article, to run expressions
    against."""
    db = sqlite_utils.Database(memory=True)
    db.execute("create table articles (title, summary, text, published, portal, category)")
    row = {"title": "Hội đồng", "summary": None, "text": "Nông thôn mới", "published": "2024",
           "portal": "p", "category": None}
    db["articles"].insert(row)
    indexing.create_tables(db)
    indexing.index_article(db, 1, row)
    yield db
    db.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(QUERY_TEXT)
def test_any_text_is_a_query_fts5_accepts_or_a_query_error(fts, text):
    try:
        query = parse_query(text)
    except QueryError as e:
        assert str(e)  # says why: nothing to look for
        return
    assert query.terms
    for tier in ("folded", "marked", "exact"):
        fts.execute(f"select count(*) from articles a where {MATCHES}",
                    [query.fts(tier)]).fetchone()


# -- filters -----------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
PERIODS = DAYS.flatmap(lambda d: st.sampled_from(
    [d.isoformat(), d.isoformat()[:7], d.isoformat()[:4]]))
PUBLISHED = st.one_of(st.none(), DAYS.map(date.isoformat),
                      DAYS.map(lambda d: f"{d.isoformat()}T23:59:00+07:00"))


def in_period(published: str | None, since: str | None, until: str | None) -> bool:
    """The documented rule: both bounds keep the whole period they name."""
    if published is None:
        return since is None and until is None
    day = published[:10]
    return ((since is None or day[:len(since)] >= since)
            and (until is None or day[:len(until)] <= until))


@given(st.lists(PUBLISHED, max_size=12), st.none() | PERIODS, st.none() | PERIODS)
def test_since_and_until_keep_whole_periods(published, since, until):
    with sqlite_utils.Database(memory=True) as db:
        db.execute("create table articles (portal, published, category)")
        db.execute("create table portals (id, district)")
        db.conn.executemany("insert into articles values ('p', ?, null)",
                            [(p,) for p in published])
        condition, params = Filters(since=since, until=until).sql(db)
        kept = [r[0] for r in db.execute(
            f"select a.rowid from articles a where {condition} order by a.rowid", params)]
    assert kept == [i + 1 for i, p in enumerate(published) if in_period(p, since, until)]


@given(st.text(max_size=12))
def test_a_date_is_a_period_or_a_filter_error(value):
    try:
        normal = period(value)
    except FilterError as e:
        assert "YYYY, YYYY-MM or YYYY-MM-DD" in str(e)
        return
    year, *rest = normal.split("-")
    date(int(year), int(rest[0]) if rest else 1, int(rest[1]) if len(rest) > 1 else 1)


# -- export records --------------------------------------------------------------------------

# Text as the archive holds it: no control character but newlines (GUIDE: normalised at the edge).
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc"), include_characters="\n"),
               max_size=40)
RECORDS = st.fixed_dictionaries({
    name: (st.lists(TEXT, max_size=3) if name == "captions" else
           st.lists(st.fixed_dictionaries({"title": TEXT, "url": TEXT}), max_size=2)
           if name == "attachments" else
           st.none() | st.integers(0, 2**40) if name in ("word_count", "version", "warc_offset",
                                                           "warc_length") else
           st.none() | TEXT)
    for name in FIELDS})


@given(st.lists(RECORDS, max_size=5))
def test_jsonl_and_csv_read_back_the_records_written(records):
    """JSON Lines exactly; CSV as text, a cell a spreadsheet would run made inert."""
    with tempfile.TemporaryDirectory() as out:
        for writer in (JsonlWriter(Path(out)), CsvWriter(Path(out))):
            for record in records:
                writer.write(record)
            writer.close()
        lines = (Path(out) / "articles.jsonl").read_text(encoding="utf-8").split("\n")
        assert [json.loads(line) for line in lines[:-1]] == records and lines[-1] == ""
        with open(Path(out) / "articles.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        for name, value in record.items():
            if isinstance(value, list):
                assert json.loads(row[name]) == value
            elif isinstance(value, str):
                assert row[name] == inert(value)  # a formula-like cell kept as text
            else:
                assert row[name] == ("" if value is None else str(value))

