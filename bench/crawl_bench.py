"""The whole crawl pipeline against wget, on a generated chrome-heavy portal served on loopback.

    .venv/bin/python bench/crawl_bench.py [--articles 2000] [--latency 0 --latency 0.02]
                                          [--long 20000] [--concurrency 4]

A portal of ``--articles`` articles (about 100 KB of HTML each, most of it chrome: a mega menu,
sidebars of other articles, inline scripts and styles, counters, footers) with paginated
category listings is generated on the fly and served on 127.0.0.1 with the added latency of
each ``--latency``. For each, the same site is crawled by
``portal-archive crawl`` (WARC, extraction, index: the whole pipeline) and by
``wget --recursive --level=inf --warc-file`` (no extraction at all), one after the other, and
the table gives wall time, pages per second, CPU seconds per page and peak memory of each
(resident, summed over the crawl's processes: the pipeline reads pages in a second one).

Then a crawl of ``--long`` articles (0 to skip) reports the pipeline's peak memory and how much
its resident memory grew over its last 10,000 pages (sampled from /proc every half second).

The crawl runs with the loopback settings of ``crawl --fixtures`` (crawler/runner.py
``FIXTURE_SETTINGS``: no delay, ``--concurrency`` requests at a time to the host), as the server
is ours; the limits on pages and depth are lifted so that both crawlers fetch the whole site.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.runner import FIXTURE_SETTINGS  # noqa: E402
from portal_archive.demo.server import PortalServer  # noqa: E402

HOST = "bench-portal.test"
CATEGORIES = ["Tin tức - Sự kiện", "Chính trị", "Kinh tế", "Văn hóa - Xã hội",
              "Quốc phòng - An ninh"]
PER_LISTING = 20
WORDS = ("ủy ban nhân dân huyện tổ chức hội nghị tổng kết công tác năm triển khai nhiệm vụ "
         "trọng tâm xây dựng nông thôn mới phát triển kinh tế xã hội đảm bảo quốc phòng an ninh "
         "đồng chí chủ tịch phó bí thư huyện ủy thị trấn xã phường các cơ quan đơn vị doanh "
         "nghiệp người dân tham gia đánh giá kết quả đạt được hạn chế khó khăn giải pháp thực "
         "hiện chương trình mục tiêu quốc gia giảm nghèo bền vững chuyển đổi số cải cách hành "
         "chính đầu tư hạ tầng giao thông thủy lợi trường học y tế văn hóa thể thao du lịch"
         ).split()
STATIC_PAGES = ["gioi-thieu", "co-cau-to-chuc", "lien-he", "so-do-cong-thong-tin",
                "lich-cong-tac", "van-ban-chi-dao", "thu-tuc-hanh-chinh", "hoi-dap"]


# -- the generated portal ---------------------------------------------------------------------

def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


@functools.cache
def article_url(n: int) -> str:
    """Article n (1 is the oldest) of category n % 5, its slug made of its own words."""
    rng = random.Random(n)
    slug = "-".join(rng.choice(WORDS) for _ in range(6))
    slug = slug.encode("ascii", "ignore").decode() or "bai-viet"
    return f"/tin-tuc/c{n % len(CATEGORIES)}/{slug}-{n}.html"


def listing_url(category: int, page: int) -> str:
    return f"/chuyen-muc/c{category}/trang-{page}.html"


class Portal:
    def __init__(self, articles: int) -> None:
        self.articles = articles
        self.urls = {article_url(n): n for n in range(1, articles + 1)}
        # Newest first, per category, as listings show them.
        self.by_category = [[n for n in range(articles, 0, -1) if n % len(CATEGORIES) == c]
                            for c in range(len(CATEGORIES))]
        rng = random.Random(0)
        # Inline script and style: tens of KB on every page of real portals (trackers,
        # menus, sliders), all of it archived, none of it text.
        self.script = "var portalConfig = {" + ",".join(
            f'"k{i}": "{hashlib.sha1(str(i).encode()).hexdigest()}"' for i in range(1100)) + "};"
        self.style = "\n".join(
            f".m{i} {{ color: #{rng.randrange(16**6):06x}; margin: {i % 9}px; }}"
            for i in range(600))
        # The chrome every page repeats is built once: the server should cost the crawlers
        # it serves as little CPU as it can (they share the machine's cores with it).
        menu = "".join(
            f'<li class="m{i}"><a href="{listing_url(i % len(CATEGORIES), 1)}">'
            f"{CATEGORIES[i % len(CATEGORIES)]} {i}</a></li>" for i in range(120))
        statics = "".join(f'<li><a href="/{s}.html">{s.replace("-", " ").title()}</a></li>'
                          for s in STATIC_PAGES)
        self.head = f"<style>{self.style}</style><script>{self.script}</script></head><body>"
        self.top = (
            '<div class="top-banner">CỔNG THÔNG TIN ĐIỆN TỬ HUYỆN BENCH - TỈNH THỬ NGHIỆM</div>'
            '<div class="slogan">Đảng Cộng sản Việt Nam quang vinh muôn năm!</div>'
            f'<div class="menu"><ul><li><a href="/">Trang chủ</a></li>{statics}{menu}</ul></div>'
        )
        self.newest = "".join(self.link(m) for m in range(articles, max(articles - 10, 0), -1))

    @functools.cache  # noqa: B019 - one portal per run, kept to the end anyway
    def link(self, n: int) -> str:
        rng = random.Random(n)
        return f'<li><a href="{article_url(n)}">{sentence(rng, 12)}</a></li>'

    def chrome_top(self, title: str) -> str:
        return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title}'
                f"</title>{self.head}{self.top}")

    def chrome_bottom(self, n: int) -> str:
        newest = self.newest
        popular = "".join(self.link(m) for m in sorted(
            {(n * 7919 + k * 104729) % self.articles + 1 for k in range(10)}))
        return (
            f'<div class="sidebar"><h3>Tin mới</h3><ul>{newest}</ul>'
            f"<h3>Tin xem nhiều</h3><ul>{popular}</ul></div>"
            '<div class="counter">Lượt truy cập: 1.234.567 | Đang trực tuyến: 89</div>'
            '<div class="ads"><a href="/quang-cao.html">Quảng cáo</a></div>'
            '<div class="footer">Cơ quan chủ quản: Ủy ban nhân dân huyện Bench. '
            "Địa chỉ: số 1 đường Thử Nghiệm. Điện thoại: 0123 456 789. "
            "Ghi rõ nguồn khi phát hành lại thông tin từ cổng này.</div></body></html>"
        )

    def article(self, n: int) -> str:
        rng = random.Random(n)
        title = sentence(rng, 14).rstrip(".")
        day, month, year = 1 + n % 28, 1 + n % 12, 2015 + n % 10
        body = "".join(f"<p>{' '.join(sentence(rng, rng.randint(12, 28)) for _ in range(4))}</p>"
                       for _ in range(rng.randint(8, 14)))
        category = n % len(CATEGORIES)
        others = [m for m in range(n - 1, max(n - 60, 0), -1) if m % len(CATEGORIES) == category]
        return (
            self.chrome_top(title)
            + f'<div class="breadcrumb"><a href="{listing_url(category, 1)}">'
            f"{CATEGORIES[category]}</a></div>"
            f'<div class="article"><h1 class="title">{title}</h1>'
            f'<div class="date">Ngày {day:02d}/{month:02d}/{year} 08:{n % 60:02d}</div>'
            f'<div class="content">{body}</div>'
            '<div class="share">Chia sẻ: Facebook | Zalo | In bài viết | Gửi email</div></div>'
            f'<div class="other-news"><h3>Tin khác</h3><ul>'
            f'{"".join(self.link(m) for m in others[:10])}</ul></div>'
            + self.chrome_bottom(n)
        )

    def listing(self, category: int, page: int) -> str | None:
        items = self.by_category[category]
        pages = max(1, -(-len(items) // PER_LISTING))
        if not 1 <= page <= pages:
            return None
        shown = items[(page - 1) * PER_LISTING: page * PER_LISTING]
        around = sorted({1, pages, *(p for p in range(page - 3, page + 4) if 1 <= p <= pages),
                         *(p for p in (page + 10, page + 50) if p <= pages)})
        pager = " ".join(f'<a href="{listing_url(category, p)}">{p}</a>' for p in around)
        teasers = "".join(
            f'<div class="teaser"><a href="{article_url(m)}">{sentence(random.Random(m), 12)}</a>'
            f"<p>{sentence(random.Random(-m), 30)}</p></div>" for m in shown)
        return (self.chrome_top(f"{CATEGORIES[category]} - trang {page}")
                + f'<div class="list"><h2>{CATEGORIES[category]}</h2>{teasers}</div>'
                + f'<div class="pager">{pager}</div>' + self.chrome_bottom(page))

    def home(self) -> str:
        latest = "".join(self.link(m) for m in range(self.articles, max(self.articles - 20, 0), -1))
        return self.chrome_top("Trang chủ") + f"<ul>{latest}</ul>" + self.chrome_bottom(0)

    def static(self, name: str) -> str:
        return (self.chrome_top(name) + f"<div><h1>{name}</h1><p>Trang tĩnh.</p></div>"
                + self.chrome_bottom(1))

    def answer(self, path: str) -> str | None:
        if path == "/":
            return self.home()
        if path in self.urls:
            return self.article(self.urls[path])
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "chuyen-muc" and parts[2].startswith("trang-"):
            try:
                return self.listing(int(parts[1][1:]), int(parts[2][6:-5]))
            except ValueError:
                return None
        if path.endswith(".html") and path[1:-5] in STATIC_PAGES:
            return self.static(path[1:-5])
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and both crawlers use

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        server: BenchServer = self.server  # type: ignore[assignment]
        with server.lock:
            server.requests += 1
        if server.latency:
            time.sleep(server.latency)
        path = urlsplit(self.path).path or "/"
        if path == "/robots.txt":
            body, status, kind = b"User-agent: *\nDisallow: /tim-kiem\n", 200, "text/plain"
        else:
            page = server.portal.answer(path)
            body = (page or "<h1>404</h1>").encode("utf-8")
            status, kind = (200 if page else 404), "text/html; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


# Quiet about crawlers that hang up (a worker stopping drops its kept-alive connections),
# as the fixture server is; any other error is printed.
class BenchServer(PortalServer):
    daemon_threads = True

    def __init__(self, portal: Portal, latency: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.portal = portal
        self.latency = latency
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


# -- measuring a crawler ----------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants (the crawl's page-reading process)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            total = next((int(line.split()[1]) for line in fh if line.startswith("VmRSS:")), 0)
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kb(int(child))
    except OSError:
        pass
    return total


def measure(command: list[str], env: dict[str, str], server: BenchServer,
            ) -> dict[str, object]:
    """Run ``command`` to its end; wall time, CPU time and peak memory of that process alone,
    and (requests served, resident KB) every half second."""
    server.requests = 0
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    samples: list[tuple[int, int]] = []

    def sample() -> None:
        while proc.returncode is None:
            samples.append((server.requests, rss_kb(proc.pid)))
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    sampler.join()
    # ru_maxrss is the largest single process; a crawl is two: sum them, as sampled.
    peak = max([usage.ru_maxrss, *(rss for _, rss in samples)])
    return {"exit": proc.returncode, "wall": wall, "requests": server.requests,
            "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak / 1024,
            "samples": samples}


def pipeline_command(data: Path, server: BenchServer, concurrency: int) -> list[str]:
    settings = {**FIXTURE_SETTINGS, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
                "PORTAL_PROXY": server.proxy, "PORTAL_MAX_PAGES": 10**7, "DEPTH_LIMIT": 0,
                "LOG_LEVEL": "WARNING",
                # The generated articles are dated up to 2024: judge silence from then.
                "HEALTH_NOW": "2025-01-01"}
    command = [str(ROOT / ".venv" / "bin" / "portal-archive"), "--data", str(data), "crawl",
               "--url", f"http://{HOST}/"]
    for name, value in settings.items():
        command += ["-s", f"{name}={value}"]
    return command


def wget_command(directory: Path, server: BenchServer) -> list[str]:
    return ["wget", "--recursive", "--level=inf", "--quiet",
            f"--warc-file={directory / 'wget'}", f"--directory-prefix={directory / 'files'}",
            "-e", "use_proxy=yes", "-e", f"http_proxy={server.proxy}", f"http://{HOST}/"]


def crawl_both(articles: int, latency: float, concurrency: int, keep: Path | None,
               rounds: int) -> list[dict]:
    """wget, then the pipeline, on one server; the fastest of ``rounds`` runs of each."""
    portal = Portal(articles)
    server = BenchServer(portal, latency)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, http_proxy="", HTTP_PROXY="", no_proxy="")
    rows = []
    try:
        for name in ("wget", "portal-archive"):
            best: dict | None = None
            for _ in range(rounds):
                work = Path(tempfile.mkdtemp(prefix=f"crawl-bench-{name}-", dir=keep))
                command = (wget_command(work, server) if name == "wget"
                           else pipeline_command(work / "data", server, concurrency))
                result = measure(command, env, server)
                result.update(tool=name, latency=latency, articles=articles,
                              size=sum(p.stat().st_size for p in work.rglob("*") if p.is_file()))
                shutil.rmtree(work, ignore_errors=True)
                if best is None or result["wall"] < best["wall"]:
                    best = result
            rows.append(best)
    finally:
        server.shutdown()
        server.server_close()
    return rows


def growth_per_10k(samples: list[tuple[int, int]]) -> float | None:
    """Resident memory (MB) gained over the last 10,000 requests of a run: the most it held
    in that stretch, less what it held when the stretch began."""
    end = max((requests for requests, _ in samples), default=0)
    before = [rss for requests, rss in samples if requests <= end - 10_000]
    if not before:
        return None
    return (max(rss for requests, rss in samples if requests > end - 10_000) - before[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000,
                        help="articles of the portal crawled by both (0: skip the comparison)")
    parser.add_argument("--latency", type=float, action="append",
                        help="seconds added to every answer (repeatable; default 0 and 0.02)")
    parser.add_argument("--long", type=int, default=20000,
                        help="articles of the memory run (0: skip it)")
    parser.add_argument("--concurrency", type=int,
                        default=FIXTURE_SETTINGS["CONCURRENT_REQUESTS_PER_DOMAIN"],
                        help="requests at a time to the portal (default: as crawl --fixtures)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="crawls of each kind; the fastest is shown (default: 1)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the crawls write (default: the system's temporary dir)")
    parser.add_argument("--serve", action="store_true",
                        help="only serve the portal (--articles, first --latency) and print the "
                             "proxy address: to profile a crawl by hand")
    args = parser.parse_args()
    if args.serve:
        server = BenchServer(Portal(args.articles), (args.latency or [0.0])[0])
        print(server.proxy, flush=True)
        server.serve_forever()
        return
    if not shutil.which("wget"):
        sys.exit("wget is not installed (apt install wget)")

    if args.articles:
        compare(args)
    if args.long:
        memory_run(args)


def compare(args: argparse.Namespace) -> None:
    latencies = args.latency or [0.0, 0.02]
    sample_page = Portal(args.articles).article(args.articles // 2).encode("utf-8")
    print(f"portal: {args.articles} articles, {len(sample_page) / 1024:.0f} KB per article page, "
          f"{PER_LISTING} per listing page; {os.cpu_count()} CPUs; "
          f"pipeline: {args.concurrency} requests at a time; best of {args.rounds}\n")
    header = (f"{'latency':>7}  {'crawler':<15} {'requests':>8} {'seconds':>8} {'pages/s':>8} "
              f"{'CPU s/page':>10} {'peak MB':>8} {'written MB':>10}")
    print(header)
    print("-" * len(header))
    results = []
    for latency in latencies:
        rows = crawl_both(args.articles, latency, args.concurrency, args.workdir, args.rounds)
        results.append(rows)
        for r in rows:
            print(f"{latency * 1000:>5.0f}ms  {r['tool']:<15} {r['requests']:>8} "
                  f"{r['wall']:>8.1f} {r['requests'] / r['wall']:>8.1f} "
                  f"{r['cpu'] / r['requests'] * 1000:>8.2f}ms {r['peak_mb']:>8.0f} "
                  f"{r['size'] / 1024**2:>10.1f}" + ("" if r["exit"] in (0, 8) else
                                                     f"  (exit {r['exit']})"), flush=True)
    print()
    for latency, (wget, ours) in zip(latencies, results, strict=True):
        print(f"{latency * 1000:.0f} ms: pipeline time / wget time = "
              f"{ours['wall'] / wget['wall']:.2f}; CPU per page pipeline / wget = "
              f"{(ours['cpu'] / ours['requests']) / (wget['cpu'] / wget['requests']):.1f}x")



def memory_run(args: argparse.Namespace) -> None:
    portal = Portal(args.long)
    server = BenchServer(portal, 0.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = Path(tempfile.mkdtemp(prefix="crawl-bench-long-", dir=args.workdir))
    try:
        r = measure(pipeline_command(work / "data", server, args.concurrency),
                    dict(os.environ), server)
    finally:
        server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    growth = growth_per_10k(r["samples"])  # type: ignore[arg-type]
    print(f"\nmemory run: {r['requests']} requests in {r['wall']:.0f} s, "
          f"peak {r['peak_mb']:.0f} MB, growth over the last 10,000 pages: "
          + (f"{growth:.1f} MB" if growth is not None else "n/a (fewer than 10,000 pages)"))
    for requests, rss in r["samples"][:: max(1, len(r["samples"]) // 12)]:  # type: ignore
        print(f"  {requests:>7} requests  {rss / 1024:>6.0f} MB resident")


if __name__ == "__main__":
    main()
