"""Search latency on a synthetic archive of Vietnamese articles, ours against plain FTS5 and LIKE.

    python bench/search_bench.py                    # 1,000,000 articles (builds ~10 GB once)
    python bench/search_bench.py --articles 100000 --db /tmp/search-100k.db

Builds (once per --db) an archive of N articles of ~400 words drawn from a Zipf-like
vocabulary of real Vietnamese syllables, with stock phrases ("nông thôn mới", "Hải Hà") mixed
in, then prints p50/p95 latency of five query classes, each run with and without filters,
ranked by relevance, top 20 with a snippet:

- ours: ``archive.search.search`` (folded + exact contentless FTS5, bounded candidate ranking);
- plain FTS5: ``unicode61 remove_diacritics 2`` over title and text, ``bm25``, top 20, snippet;
- LIKE: ``title LIKE '%q%' OR text LIKE '%q%'``, newest first (a full scan).

It also prints the index sizes as a ratio to the raw text, and how many of our top 20 are in
plain bm25's top 20 over the same folded words (relevance kept by the bounded ranking).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils  # noqa: E402

from archive.filters import Filters  # noqa: E402
from archive.index import open_index, upsert_portal  # noqa: E402
from archive.search import FTS_TABLE, search  # noqa: E402
from archive.vietnamese import exact_word, fold_word  # noqa: E402

SYLLABLES = """
của và các những được trong cho với là có không người này đã về một theo đến tại từ khi
huyện xã tỉnh thành phố nhân dân ủy ban hội đồng công tác năm tháng ngày đồng chí phát triển
kinh tế xã hội xây dựng nông thôn mới chương trình kế hoạch thực hiện triển khai tổ chức
hội nghị đại biểu chính quyền đảng bộ cán bộ đảng viên văn hóa giáo dục y tế giao thông đường
thủy lợi sản xuất nông nghiệp lúa gạo cây trồng vật nuôi môi trường an ninh trật tự quốc phòng
doanh nghiệp đầu tư dự án công trình khánh thành khởi công nghiệm thu giải ngân vốn ngân sách
học sinh giáo viên trường học bệnh viện trạm bác sĩ tiêm chủng phòng chống dịch bệnh thiên tai
bão lũ hạn hán cứu trợ hỗ trợ hộ nghèo cận nghèo an sinh chính sách người có công liệt sĩ
thương binh gia đình văn hóa khu dân cư thôn bản làng phố phường thị trấn quận vùng miền núi
biển đảo cảng cá du lịch di tích lễ hội truyền thống nghệ thuật thể thao thi đấu giải bóng
chuyển đổi số điện tử dịch vụ công trực tuyến cải cách hành chính thủ tục hồ sơ một cửa
kiểm tra giám sát thanh tra khiếu nại tố cáo tiếp công dân bầu cử đại hội nhiệm kỳ ban chấp
hành thường vụ bí thư chủ tịch phó giám đốc sở phòng trung tâm ông bà anh chị em thanh niên
phụ nữ cựu chiến binh nông dân công đoàn mặt trận tổ quốc đoàn kết thi đua khen thưởng
bằng khen giấy khen danh hiệu tiên tiến xuất sắc hoàn thành nhiệm vụ chỉ tiêu kết quả đạt
tăng giảm so với cùng kỳ trên địa bàn toàn bộ nhiều ít cao thấp lớn nhỏ tốt đẹp mạnh yếu
sáng chiều tối nay qua tới sau trước đầu cuối giữa bên ngoài trong nhà nước pháp luật quy
định nghị quyết quyết định chỉ thị thông báo công văn hướng dẫn báo cáo tổng kết sơ kết
""".split()
RARE = [f"{a}{b}" for a in ("khuê", "quỳnh", "thoại", "uyển", "nguyệt", "huỳnh", "loan",
                              "trâm", "diệp", "vỹ")
        for b in ("ngọc", "kiều", "phượng", "thục", "mỹ", "nhã", "đoan", "tuệ", "bích", "hạ")]
PHRASES = ["nông thôn mới", "hội đồng nhân dân", "Hải Hà", "Thanh Hóa", "đường giao thông",
           "ủy ban nhân dân", "phòng chống thiên tai", "chuyển đổi số"]
PORTALS = [(f"p{i:03d}", ("Quảng Ninh", "Hải Phòng", "Thừa Thiên Huế", "Nghệ An")[i % 4])
           for i in range(100)]

QUERIES = {
    "common word": ["huyện", "của", "và", "các", "năm", "xã", "được", "trong", "cho", "với"],
    "rare word": RARE[:10],
    "two words": ["giao thông", "du lịch", "hạn hán", "giáo viên", "cảng cá",
                  "tiêm chủng", "thủy lợi", "bầu cử", "khen thưởng", "lễ hội"],
    "3-syllable phrase": ['"nông thôn mới"', '"phòng chống thiên"', '"ủy ban nhân"',
                          '"chuyển đổi số"', '"đường giao thông"', '"hội đồng nhân"',
                          '"cải cách hành"', '"dịch vụ công"', '"an sinh xã"', '"thủ tục hồ"'],
    "no diacritics": ["hai ha", "thanh hoa", "nong thon moi", "hoi dong", "duong giao thong",
                      "chuyen doi so", "uy ban", "ban chap hanh", "le hoi", "thuy loi"],
}


def build(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    vocab = SYLLABLES
    weights = [1 / (rank + 1) ** 0.9 for rank in range(len(vocab))]
    folded = {w: fold_word(w) for w in vocab + RARE + " ".join(PHRASES).lower().split()}
    exact = {w: exact_word(w) for w in folded}
    db = open_index(path)
    for pid, province in PORTALS:
        upsert_portal(db, {"id": pid, "name": pid, "province": province, "district": None})
    conn: sqlite3.Connection = db.conn
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("create virtual table plain_fts using fts5(title, text, content='articles', "
                 "content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')")
    started = time.perf_counter()
    batch_articles, batch_fts = [], []
    for i in range(1, n + 1):
        body = rng.choices(vocab, weights, k=400)
        for _ in range(rng.randint(0, 3)):
            body[rng.randrange(400)] = rng.choice(PHRASES)
        if rng.random() < 0.002:
            body[rng.randrange(400)] = rng.choice(RARE)
        title_words = rng.choices(vocab, weights, k=10)
        if rng.random() < 0.1:
            title_words[rng.randrange(10)] = rng.choice(PHRASES)
        title = " ".join(title_words).capitalize()
        text = " ".join(body).capitalize() + "."
        tw, bw = title.lower().split(), text.lower().rstrip(".").split()
        pid, _ = PORTALS[i % len(PORTALS)]
        published = f"{2010 + i * 15 // n:04d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        batch_articles.append((i, f"a{i}", f"http://{pid}.test/tin/{i}.html", pid, title,
                               published, "Tin tức", text, f"d{i}", "x.warc.gz", i, 1))
        batch_fts.append((i, " ".join(folded[w] for w in tw), " ".join(folded[w] for w in bw),
                          " ".join(exact[w] for w in tw), " ".join(exact[w] for w in bw)))
        if len(batch_articles) == 5000 or i == n:
            conn.executemany(
                "insert into articles(rowid, id, url, portal, title, published, category, "
                "text, digest, warc_file, warc_offset, warc_length) "
                "values (?,?,?,?,?,?,?,?,?,?,?,?)", batch_articles)
            conn.executemany(f"insert into {FTS_TABLE}(rowid, title_f, body_f, title_x, "
                             "body_x) values (?,?,?,?,?)", batch_fts)
            conn.commit()
            batch_articles, batch_fts = [], []
            rate = i / (time.perf_counter() - started)
            print(f"\r  built {i:,}/{n:,} articles ({rate:,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    conn.execute("insert into plain_fts(plain_fts) values ('rebuild')")
    conn.execute("insert into plain_fts(plain_fts) values ('optimize')")
    conn.execute(f"insert into {FTS_TABLE}({FTS_TABLE}) values ('optimize')")
    conn.execute("create table bench_meta(articles int)")
    conn.execute("insert into bench_meta values (?)", [n])
    conn.commit()


def timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - t) * 1000, result


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


def table_bytes(conn: sqlite3.Connection, prefix: str) -> int:
    return conn.execute("select coalesce(sum(pgsize), 0) from dbstat where name like ?",
                        [prefix + "%"]).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/search-bench.db"))
    parser.add_argument("--like-runs", type=int, default=2, help="LIKE scans per class")
    parser.add_argument("--only-ours", action="store_true",
                        help="time our search only: no baselines, no bm25 comparison (a quick "
                        "re-measure on an archive already built)")
    args = parser.parse_args()

    if args.db.exists():
        have = sqlite3.connect(args.db).execute("select articles from bench_meta").fetchone()
        if not have or have[0] != args.articles:
            sys.exit(f"{args.db} holds another archive: remove it or choose --db")
    else:
        print(f"Building {args.articles:,} articles into {args.db} ...", file=sys.stderr)
        t = time.perf_counter()
        build(args.db, args.articles)
        print(f"  built in {time.perf_counter() - t:,.0f} s", file=sys.stderr)

    db = sqlite_utils.Database(args.db)
    conn = db.conn
    text_bytes = conn.execute("select sum(length(cast(title as blob)) + "
                              "length(cast(text as blob))) from articles").fetchone()[0]
    filters = Filters(since="2015-01-01", province="Quảng Ninh")
    where, params = filters.sql()

    def plain(q: str, filtered: bool):
        sql = ("select f.rowid, snippet(plain_fts, 1, '[', ']', '…', 12) from plain_fts f "
               "join articles a on a.rowid = f.rowid where plain_fts match ?"
               + (where if filtered else "") + " order by bm25(plain_fts, 10.0, 1.0) limit 20")
        fts_q = " ".join(f'"{w}"' for w in q.replace('"', " ").split()) if not q.startswith(
            '"') else q
        return conn.execute(sql, [fts_q, *(params if filtered else [])]).fetchall()

    def full_bm25(q: str, filtered: bool) -> list[int]:
        # Our folded index ranked over every match: what the bounded ranking approximates.
        hits = search(db, q, filters=filters if filtered else None, limit=20,
                      candidates=10**9, rank_here=0)
        return [h["id"] for h in hits]

    def like(q: str) -> list:
        pattern = f"%{q.strip(chr(34))}%"
        return conn.execute("select id from articles where title like ? or text like ? "
                            "order by published desc limit 20", [pattern, pattern]).fetchall()

    print(f"{args.articles:,} articles, {text_bytes / 1e9:.2f} GB of text\n")
    print(f"{'query class':<20}{'filters':<9}{'ours p50/p95 ms':>18}{'plain FTS5 p50/p95':>21}"
          f"{'LIKE p50 ms':>13}{'top20 = bm25':>14}")
    for name, queries in QUERIES.items():
        for filtered in (False, True):
            ours, theirs, overlap = [], [], []
            for q in queries:
                chosen = filters if filtered else None
                ms, hits = timed(lambda q=q, f=chosen: search(db, q, filters=f, limit=20))
                ours.append(ms)
                if args.only_ours:
                    continue
                theirs.append(timed(plain, q, filtered)[0])
                mine = [h["id"] for h in hits]
                best = full_bm25(q, filtered)
                if best:
                    overlap.append(len(set(mine) & set(best)) / len(best))
            likes = [timed(like, q)[0] for q in queries[:args.like_runs]] \
                if not filtered and not args.only_ours else []
            plain_ms = (f"{pct(theirs, .5):>10.0f} / {pct(theirs, .95):<8.0f}" if theirs
                        else f"{'-':>10}   {'':<8}")
            print(f"{name:<20}{'yes' if filtered else 'no':<9}"
                  f"{pct(ours, .5):>8.0f} / {pct(ours, .95):<7.0f}{plain_ms}"
                  f"{(f'{pct(likes, .5):,.0f}' if likes else '-'):>13}"
                  f"{(f'{statistics.mean(overlap):.0%}' if overlap else '-'):>14}")
    ours_size = table_bytes(conn, FTS_TABLE)
    plain_size = table_bytes(conn, "plain_fts")
    print(f"\nindex size / text size: ours {ours_size / text_bytes:.2f}x "
          f"({ours_size / 1e9:.2f} GB), plain FTS5 {plain_size / text_bytes:.2f}x "
          f"({plain_size / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
