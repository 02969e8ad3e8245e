"""Alarms, driven by changing what the loopback portals answer between two crawls."""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.settings import HEALTH_TEMPLATE_MATCH
from tests.conftest import FIXTURES, gold_count, run_cli

PORTAL = "vinhbao-hp"
FAST = ["-s", "LOG_LEVEL=INFO", "-s", "RETRY_TIMES=1"]
EXIT_PARTIAL, EXIT_ALARM = 1, 4


class Portal:
    """A private copy of the fixture portals whose ``PORTAL`` site a test can change."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = root / "sites" / PORTAL
        self.manifest_path = self.site / "manifest.json"

    @property
    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def save(self, manifest: dict) -> None:
        self.manifest_path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    def answer_home(self, **entry: object) -> None:
        manifest = self.manifest
        manifest["urls"]["/"].update(entry)
        self.save(manifest)

    def crawl(self, data: Path, *settings: str) -> tuple[int, str]:
        args = ["crawl", "--fixtures", str(self.root), "--portal", PORTAL, *FAST]
        for setting in settings:
            args += ["-s", setting]
        proc = run_cli(*args, data=data, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        return proc.returncode, proc.stderr


def health(data: Path) -> dict:
    conn = sqlite3.connect(data / "index.db")
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("select * from portal_health where portal = ?", [PORTAL]).fetchone())
    conn.close()
    row["alarms"] = json.loads(row["alarms"])
    return row


def last_runs(data: Path, n: int = 1) -> list[dict]:
    conn = sqlite3.connect(data / "index.db")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(
        "select * from runs where portals = ? order by id desc limit ?", [PORTAL, n])]
    conn.close()
    return rows


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> tuple[Path, Path]:
    """Fixture portals and a data directory after one healthy crawl of ``PORTAL``."""
    root = tmp_path_factory.mktemp("healthy")
    shutil.copytree(FIXTURES, root / "fixtures")
    proc = run_cli("crawl", "--fixtures", str(root / "fixtures"), "--portal", PORTAL, *FAST,
                   data=root / "data")
    assert (proc.stdout, proc.stderr) == ("", "")  # no terminal, all is well: nothing printed
    return root / "fixtures", root / "data"


@pytest.fixture()
def portal(healthy, tmp_path) -> tuple[Portal, Path]:
    fixtures, data = healthy
    shutil.copytree(fixtures, tmp_path / "fixtures")
    shutil.copytree(data, tmp_path / "data")
    return Portal(tmp_path / "fixtures"), tmp_path / "data"


@pytest.fixture()
def webhook():
    """A tiny receiver on 127.0.0.1 that keeps every JSON message POSTed to it."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_a_healthy_crawl_is_recorded_with_its_figures(healthy):
    _, data = healthy
    run = last_runs(data)[0]
    assert run["status"] == "finished" and run["exit_status"] == 0
    assert run["new"] == gold_count(PORTAL) and run["pages"] > run["new"] and run["bytes"] > 0
    assert run["home_status"] == 200 and run["home_url"] == f"http://{PORTAL}.test/"
    errors = json.loads(run["errors"])
    assert errors["http_500"] >= 1  # the page that fails once, then heals
    assert health(data)["state"] == "ok"
    # The run's log (Scrapy's included) is in the data directory, named by the run.
    log = data / "logs" / f"{run['job']}.log"
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in log.read_text()


def test_home_down_for_several_runs_is_a_liveness_alarm_and_a_last_full_crawl(portal,
                                                                                   webhook):
    site, data = portal
    url, received = webhook
    site.answer_home(status=503)
    code, stderr = site.crawl(data, "HEALTH_DEAD_RUNS=2", f"ALARM_WEBHOOK_URL={url}")
    assert code == EXIT_PARTIAL  # one bad run is a failure, not yet an alarm
    assert f"error: {PORTAL}: HTTP 503" in stderr and "ALARM" not in stderr
    assert received == []

    code, stderr = site.crawl(data, "HEALTH_DEAD_RUNS=2", f"ALARM_WEBHOOK_URL={url}")
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: liveness: home down for 2 runs (HTTP 503)" in stderr
    # ... and hands over to recovery from web archives, with the command to run.
    assert f"recover --portal {PORTAL} --source ia --source cc" in stderr
    verdict = health(data)
    assert verdict["state"] == "alarm" and verdict["full_crawl_due"] == 1
    assert [m["alarms"] for m in received] == [
        [{"portal": PORTAL, "kind": "liveness", "reason": "home down for 2 runs (HTTP 503)"}]
    ]
    assert received[0]["exit_status"] == EXIT_ALARM
    line = f"ALARM {PORTAL}: liveness: home down for 2 runs (HTTP 503)"
    assert received[0]["text"] == f"portal-archive {line}"
    # The alarm is also at the end of the run's log.
    log = data / "logs" / f"{last_runs(data)[0]['job']}.log"
    *_, alarm_line, hint = log.read_text().splitlines()
    assert alarm_line == line and f"recover --portal {PORTAL}" in hint

    # The next run is the portal's last full crawl; after it the flag is down.
    site.crawl(data, "HEALTH_DEAD_RUNS=2")
    assert last_runs(data)[0]["full"] == 1
    assert health(data)["full_crawl_due"] == 0  # once: still dying, but not newly so


def test_a_host_that_no_longer_resolves_is_a_liveness_alarm(portal):
    site, data = portal
    # The fixture server answers 502 for a host it does not know, as a proxy does.
    index = json.loads((site.root / "index.json").read_text(encoding="utf-8"))
    for item in index["portals"]:
        if item["portal_id"] == PORTAL:
            item["base_url"] = "http://gone.test"  # a host the loopback server does not know
    (site.root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    code, stderr = site.crawl(data, "HEALTH_DEAD_RUNS=1")
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: liveness: home down for 1 runs (HTTP 502)" in stderr


def test_a_home_that_redirects_to_another_host_is_a_liveness_alarm(portal):
    site, data = portal
    # A merged district's portal now sends its visitors to another unit's portal.
    site.answer_home(status=301, file=None, redirect_to="http://aluoi-tth.test/",
                     headers={"Location": "http://aluoi-tth.test/"})
    code, stderr = site.crawl(data)
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: liveness: home redirects to another host: aluoi-tth.test" in stderr
    assert health(data)["full_crawl_due"] == 1
    status = run_cli("status", data=data).stdout
    line = next(x for x in status.splitlines() if x.startswith(PORTAL))
    assert line.endswith("ALARM - liveness: home redirects to another host: aluoi-tth.test "
                         "[full crawl due]")


def test_a_parked_home_page_is_a_liveness_alarm(portal):
    site, data = portal
    (site.site / "files" / "index.html").write_text(
        "<html><head><title>vinhbao-hp.test</title></head><body><h1>This domain is for sale"
        "</h1><p>Buy this domain: contact the registrar.</p></body></html>", encoding="utf-8")
    site.answer_home(headers={})
    code, stderr = site.crawl(data)
    assert code == EXIT_ALARM
    assert "liveness: home is a parked or placeholder page: 'vinhbao-hp.test'" in stderr


def test_article_pages_in_another_template_are_a_drift_alarm(portal):
    site, data = portal
    manifest = site.manifest
    listing = (site.site / manifest["urls"]["/tin-tuc-su-kien"]["file"]).read_bytes()
    for entry in manifest["urls"].values():
        if entry.get("page_type") == "article":
            (site.site / entry["file"]).write_bytes(listing)
            entry["headers"] = {}  # a new page: no old ETag to answer 304 to
    site.save(manifest)
    code, stderr = site.crawl(data)
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: drift: " in stderr
    assert "known article pages now give no article body" in stderr
    assert [a["kind"] for a in health(data)["alarms"]] == ["drift"]
    assert health(data)["full_crawl_due"] == 0  # drift is no sign of death


def test_a_new_cms_whose_new_pages_hold_no_article_is_a_drift_alarm(portal):
    site, data = portal
    # The portal moves to a new CMS: new article URLs, pages in a template nobody learned.
    manifest = site.manifest
    listing = manifest["urls"]["/tin-tuc-su-kien"]["file"]
    moved = {path: path.replace("/tin-tuc-su-kien/", "/tin/", 1)
             for path, entry in manifest["urls"].items()
             if entry.get("page_type") in ("article", "article-duplicate")}
    for old, new in moved.items():
        manifest["urls"][new] = {**manifest["urls"][old], "file": listing, "gold": None}
    for entry in manifest["urls"].values():
        entry["headers"] = {}
    site.save(manifest)
    for page in [*site.site.glob("files/**/*.html"), *site.site.glob("files/*.xml")]:
        text = page.read_text(encoding="utf-8")
        for old, new in moved.items():
            text = text.replace(old, new)
        page.write_text(text, encoding="utf-8")
    code, stderr = site.crawl(data)
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: drift: 0% of " in stderr
    assert "new pages give an article body, usually " in stderr


def test_a_redesigned_home_page_is_a_drift_alarm(portal):
    site, data = portal
    # A second healthy run: most of the furniture learned from the articles is on the home
    # page (not all: an article's share bar or "Tin khác" box is not on it).
    code, _ = site.crawl(data)
    assert code == 0 and last_runs(data)[0]["template_match"] > 2 * HEALTH_TEMPLATE_MATCH
    # The portal is redesigned: the home page now comes from another CMS.
    other = site.root / "sites" / "aluoi-tth" / "files" / "index.html"
    shutil.copyfile(other, site.site / "files" / "index.html")
    site.answer_home(headers={})
    code, stderr = site.crawl(data)
    assert code == EXIT_ALARM
    assert (f"ALARM {PORTAL}: drift: the home page shows 0% of the portal's learned page "
            "furniture (redesigned?)") in stderr


def test_silence_longer_than_the_usual_interval_is_an_alarm_until_a_new_article(portal):
    site, data = portal
    # The copy of the portal is frozen: judge it from a day long after its last article.
    code, stderr = site.crawl(data, "HEALTH_NOW=2029-06-01")
    assert code == EXIT_ALARM
    assert f"ALARM {PORTAL}: silence: no new article for " in stderr

    # The portal publishes again: a new article, linked from the home page.
    manifest = site.manifest
    path, entry = next((p, e) for p, e in manifest["urls"].items()
                       if e.get("page_type") == "article")
    page = (site.site / entry["file"]).read_text(encoding="utf-8")
    old_date = page.split('article:published_time" content="', 1)[1][:10]
    new_path = "/tin-tuc-su-kien/tin-moi-9999.html"
    first_paragraph = '<p style="text-align:justify">'
    fresh = (page.replace(old_date, "2029-05-30").replace(path, new_path)
             .replace(first_paragraph, first_paragraph + "Năm 2029: ", 1))
    (site.site / "files" / "fresh.html").write_text(fresh, encoding="utf-8")
    manifest["urls"][new_path] = {
        **entry, "file": "files/fresh.html", "headers": {}, "gold": None}
    manifest["urls"]["/"]["headers"] = {}
    site.save(manifest)
    home = site.site / "files" / "index.html"
    home.write_text(home.read_text(encoding="utf-8").replace(
        "</body>", f'<a href="{new_path}">Tin mới</a></body>'), encoding="utf-8")

    code, stderr = site.crawl(data, "HEALTH_NOW=2029-06-01")
    assert code == 0, stderr
    assert health(data)["state"] == "ok"


def test_a_home_that_times_out_is_a_liveness_alarm(tmp_path):
    # A server on 127.0.0.1 that accepts connections and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    try:
        proc = run_cli("crawl", "--url", url, "-s", "DOWNLOAD_TIMEOUT=1", "-s", "RETRY_TIMES=0",
                       "-s", "ROBOTSTXT_OBEY=False", "-s", "DOWNLOAD_DELAY=0",
                       "-s", "HEALTH_DEAD_RUNS=1", data=tmp_path, check=False)
    finally:
        listener.close()
        for conn in held:
            conn.close()
    assert proc.returncode == EXIT_ALARM, proc.stderr[-2000:]
    assert f"ALARM 127.0.0.1:{port}: liveness: home down for 1 runs (timed out)" in proc.stderr
