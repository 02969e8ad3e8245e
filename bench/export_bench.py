"""Export speed and peak memory on a synthetic archive.

Builds an index of N synthetic articles (default 100,000; one in ten a republication of an
earlier one on another portal, with small edits) through ``archive.index`` functions, then runs
each timed step in a child process and prints its wall time and peak RSS:

1. clustering every article from scratch (signing 100k bodies, LSH),
2. a Parquet export with clusters up to date (what every later export costs),
3. a JSON Lines export, for comparison.

    python bench/export_bench.py                    # 100,000 articles in a temporary dir
    python bench/export_bench.py -n 20000 --keep /tmp/bench-archive

Peak RSS is ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` read after each child; it is the
maximum over the children waited for so far, so each child also reports its own.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archive import index  # noqa: E402
from archive.clusters import update_clusters  # noqa: E402
from archive.export import export  # noqa: E402

WORDS = (
    "ủy ban nhân dân huyện tỉnh xã phường thị trấn hội đồng kỳ họp nghị quyết kế hoạch triển khai "
    "nông thôn mới giao thông thủy lợi trường học y tế dân số cán bộ đảng viên chi bộ mặt trận "
    "thanh niên phụ nữ nông dân cựu chiến binh kinh tế xã hội năm tháng ngày chỉ tiêu đạt vượt "
    "tổng kết đánh giá tình hình phát triển sản xuất lúa ngô sắn cao su cà phê hồ tiêu chăn nuôi "
    "gia súc gia cầm dịch bệnh phòng chống thiên tai bão lũ hạn hán xâm nhập mặn du lịch văn hóa "
    "lễ hội di tích thể thao an ninh trật tự quốc phòng quân sự biên phòng công an giáo dục đào "
    "tạo nghề việc làm giảm nghèo an sinh chính sách người có công đầu tư xây dựng công trình dự "
    "án vốn ngân sách thu chi thuế doanh nghiệp hợp tác xã thương mại dịch vụ chợ điện nước sạch "
    "môi trường rác thải đất đai tài nguyên khoáng sản rừng trồng bảo vệ chuyển đổi số cải cách "
    "hành chính một cửa trực tuyến hồ sơ thủ tục người dân tổ chức đồng chí chủ tịch phó bí thư "
    "phát biểu chỉ đạo yêu cầu đề nghị các ngành địa phương đơn vị tiếp tục tập trung hoàn thành"
).split()
PORTALS = 50
PROVINCES = ["Thừa Thiên Huế", "Quảng Bình", "Hà Giang", "Hải Dương", "Nghệ An",
             "Quảng Ninh", "Bình Dương", "Bến Tre", "Hà Nam", "Kon Tum"]


def body(rng: random.Random, words: int) -> str:
    paragraphs, left = [], words
    while left > 0:
        n = min(left, rng.randint(30, 70))
        paragraphs.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        left -= n
    return "\n".join(paragraphs)


def edited(rng: random.Random, text: str) -> str:
    """A republication: a few words changed, the last sentence cut."""
    words = text.split(" ")
    for _ in range(max(1, len(words) // 40)):
        words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words[: len(words) - rng.randint(0, 10)])


def build(data: Path, count: int) -> None:
    rng = random.Random(5)
    db = index.open_index(data / "index.db")
    for n in range(PORTALS):
        index.upsert_portal(db, {"id": f"portal-{n:02d}", "name": f"Cổng thông tin {n}",
                                 "base_url": f"http://portal-{n:02d}.test/",
                                 "province": PROVINCES[n % len(PROVINCES)],
                                 "district": None if n % 5 == 0 else f"Huyện {n}"})
    texts: list[str] = []
    started = time.perf_counter()
    with db.conn:
        for n in range(count):
            if n % 10 == 9 and texts:
                text = edited(rng, rng.choice(texts))
            else:
                text = body(rng, rng.randint(150, 600))
                if len(texts) < 2000:
                    texts.append(text)
            portal = f"portal-{rng.randrange(PORTALS):02d}"
            day = f"20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            index.store_article(db, {
                "url": f"http://{portal}.test/tin-tuc/bai-{n}.html", "portal": portal,
                "title": " ".join(text.split()[:12]), "published": day, "date_source": "meta",
                "author": None, "category": rng.choice(["Tin tức", "Nông thôn mới", None]),
                "summary": None, "text": text, "captions": "[]", "attachments": "[]",
                "word_count": len(text.split()), "language": "vi",
                "digest": f"{n:040x}", "warc_file": f"synthetic-{n // 5000:05d}.warc.gz",
                "warc_offset": n * 9000 % 10**9, "warc_length": 9000,
                "payload_digest": f"sha1:SYNTHETIC{n:030d}", "record_id": f"<urn:n:{n}>",
            }, captured="2026-01-01T00:00:00Z")
    print(f"built {count:,} articles in {time.perf_counter() - started:.0f} s", flush=True)


def child(step: str, data: Path) -> None:
    db = index.open_index(data / "index.db")
    if step == "cluster":  # from scratch, as on the first export of an archive
        with db.conn:
            db.execute("delete from article_clusters")
    started = time.perf_counter()
    if step == "cluster":
        result = update_clusters(db)
        records = result["clustered"]
    else:
        summary = export(db, data_dir=data, fmt=step, output=data / f"out-{step}", force=True)
        records = summary.records
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"step": step, "records": records, "seconds": seconds, "rss_mb": own}))


def measure(step: str, data: Path) -> None:
    proc = subprocess.run([sys.executable, __file__, "--child", step, str(data)],
                          capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{step:>8}: {result['records']:>8,} articles in {result['seconds']:7.1f} s = "
          f"{result['records'] / result['seconds']:>8,.0f} articles/s; peak RSS of the child "
          f"{result['rss_mb']:6.0f} MB (RUSAGE_CHILDREN so far {children_peak:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="articles in the archive")
    parser.add_argument("--keep", type=Path, help="build (or reuse) the archive in this dir")
    parser.add_argument("--child", nargs=2, metavar=("STEP", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp)
        if not (data / "index.db").exists():
            build(data, args.n)
        size = (data / "index.db").stat().st_size / 2**20
        print(f"index.db: {size:,.0f} MB", flush=True)
        for step in ("cluster", "parquet", "jsonl"):
            measure(step, data)


if __name__ == "__main__":
    main()
