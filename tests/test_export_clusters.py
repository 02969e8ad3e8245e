"""Near-duplicate clusters on a fixture of one news item republished, with other chrome and
small edits, by a district portal and its province's portal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from archive import clusters
from archive.export import export
from archive.filters import Filters
from archive.index import open_index
from archive.units import province_2025
from tests.conftest import FAST_CRAWL, run_cli

REPUBLISHED = Path(__file__).resolve().parent / "fixtures" / "republished"
DISTRICT_COPY = "Lệ Thủy ra quân trồng rừng ngập mặn ven sông Kiến Giang"
PROVINCE_COPY = "Huyện Lệ Thủy trồng mới 25 ha rừng ngập mặn trong năm 2024"
# The article pages the fixture's portals serve; one of them republishes another.
ARTICLES = sum(entry.get("page_type") == "article"
               for manifest in REPUBLISHED.glob("sites/*/manifest.json")
               for entry in json.loads(manifest.read_text(encoding="utf-8"))["urls"].values())


@pytest.fixture(scope="module")
def republished_archive(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("republished")
    run_cli("crawl", "--fixtures", str(REPUBLISHED), *FAST_CRAWL, data=data)
    return data


def export_jsonl(data: Path, out: Path, **kwargs) -> tuple[list[dict], dict]:
    with open_index(data / "index.db") as db:
        export(db, data_dir=data, fmt="jsonl", output=out, **kwargs)
    records = [json.loads(line) for line in
               (out / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    return records, json.loads((out / "datasheet.json").read_text(encoding="utf-8"))


def test_republished_copies_share_a_cluster_named_after_the_earliest(republished_archive,
                                                                      tmp_path):
    records, sheet = export_jsonl(republished_archive, tmp_path / "all")
    by_title = {r["title"]: r for r in records}
    assert len(records) == ARTICLES
    district, province = by_title[DISTRICT_COPY], by_title[PROVINCE_COPY]
    assert (district["portal"], province["portal"]) == ("lethuy-qb", "quangbinh-gov")
    assert district["cluster"] == province["cluster"] == district["id"]
    others = [r for r in records if r["title"] not in (DISTRICT_COPY, PROVINCE_COPY)]
    assert all(r["cluster"] == r["id"] for r in others)
    assert sheet["near_duplicates"]["clusters_with_duplicates"] == 1
    assert sheet["near_duplicates"]["duplicates"] == 1


def test_dedup_keeps_the_earliest_published_copy(republished_archive, tmp_path):
    records, sheet = export_jsonl(republished_archive, tmp_path / "dedup", dedup=True)
    titles = {r["title"] for r in records}
    assert DISTRICT_COPY in titles and PROVINCE_COPY not in titles
    assert len(records) == ARTICLES - 1
    assert sheet["near_duplicates"]["dropped_by_dedup"] == 1
    assert sheet["near_duplicates"]["duplicates"] == 0
    # Within a selection, dedup keeps the earliest copy the selection holds.
    only_province, _ = export_jsonl(republished_archive, tmp_path / "p", dedup=True,
                                    filters=Filters(portals=("quangbinh-gov",)))
    assert PROVINCE_COPY in {r["title"] for r in only_province}


def test_merged_province_is_named_and_filterable(republished_archive, tmp_path):
    assert province_2025("Quảng Bình") == "Quảng Trị"  # merged on 1 July 2025
    records, _ = export_jsonl(republished_archive, tmp_path / "qt",
                              filters=Filters(province="Quảng Trị"))
    assert len(records) == ARTICLES  # every portal of the fixture was in Quảng Bình
    assert {(r["province"], r["province_2025"]) for r in records} == {("Quảng Bình", "Quảng Trị")}
    assert {r["district"] for r in records} == {"Lệ Thủy", None}


def test_clusters_are_only_recomputed_for_changed_articles(republished_archive, tmp_path):
    shutil.copy(republished_archive / "index.db", tmp_path / "index.db")
    with open_index(tmp_path / "index.db") as db:
        clusters.update_clusters(db)
        assert clusters.update_clusters(db) == {"signed": 0, "clustered": 0}
        # The province copy is rewritten into other news: it leaves the cluster.
        row = next(db.query("select id from articles where title = ?", [PROVINCE_COPY]))
        db["articles"].update(row["id"], {"digest": "changed", "text": " ".join(
            f"Nội dung khác hẳn số {n} về giao thông nông thôn." for n in range(30))})
        assert clusters.update_clusters(db)["signed"] == 1
        named = {r["article_id"]: r["cluster"]
                 for r in db.query("select * from article_clusters")}
    assert named[row["id"]] == row["id"]
    assert len(set(named.values())) == ARTICLES


def test_short_bodies_are_never_near_duplicates():
    assert clusters.signature("Ảnh: Minh Đức") is None
    text = " ".join(f"câu số {n} của bài viết" for n in range(20))
    assert clusters.signature(text) == clusters.signature(text.upper().replace(" ", "  "))
