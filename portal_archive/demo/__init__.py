"""The demo: simulated portals (``fixtures/``) and the loopback server that plays them
(``server``), for ``portal-archive demo``, ``crawl --fixtures`` and the tests."""

from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")
