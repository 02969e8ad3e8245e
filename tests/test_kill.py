"""kill -9 at random moments, then ``verify --repair``: nothing lost, nothing twice, every WARC
record in the index and every WARC file valid. ``bench/kill_harness.py`` with a small N (the
issue's figures come from the same script with ``--kills 20``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_crawls_killed_at_random_moments_lose_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kill_harness.py"), "--kills", "2", "--seed", "5",
         "--portal", "aluoi-tth", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["kills"] == 2, result
    assert result["missing_after_repair"] == 0, result
    assert result["invalid_warcs"] == [], result
    assert (result["articles_lost"], result["duplicates"], result["documents_lost"]) == (0, 0, 0)
