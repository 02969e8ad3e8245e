"""The rooms import one way, and every module imports on its own, first: no circle.

An import circle hides when the modules of a circle happen to be imported in a working order;
importing each one first, with none of the project loaded, shows it. One child interpreter
runs them all: before each import it forgets every module of the project (third-party ones
stay loaded, which only saves time).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("archive", "crawler", "cleaners", "portal_archive")
# What each room may import of the others (ARCHITECTURE.md): the command line -> crawler ->
# archive -> cleaners. The archive knows nothing of Scrapy; the cleaners nothing of the project.
BELOW = {
    "portal_archive": {"crawler", "archive", "cleaners"},
    "crawler": {"archive", "cleaners", "scrapy", "twisted"},
    "archive": {"cleaners"},
    "cleaners": set(),
}

CHECK = """
import importlib, json, sys, traceback
rooms, modules = json.loads(sys.argv[1])
failed = {}
for name in modules:
    for loaded in [m for m in sys.modules if m.split(".")[0] in rooms]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def modules_of(root: Path, rooms: tuple[str, ...]) -> list[str]:
    names = []
    for room in rooms:
        for path in sorted((root / room).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "fixtures" in parts:  # demo data, not code
                continue
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def import_each(root: Path, rooms: tuple[str, ...]) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, json.dumps([rooms, modules_of(root, rooms)])],
        cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def imported_rooms(path: Path) -> set[str]:
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            tops |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
    return tops & (set(BELOW) | {"scrapy", "twisted"})


def test_each_room_imports_only_the_rooms_below_it():
    wrong = {}
    for room, allowed in BELOW.items():
        for path in (ROOT / room).rglob("*.py"):
            if "fixtures" not in path.parts and (imported_rooms(path) - allowed - {room}):
                wrong[str(path.relative_to(ROOT))] = imported_rooms(path) - allowed - {room}
    assert not wrong


def test_every_module_imports_first_on_its_own():
    assert len(modules_of(ROOT, ROOMS)) > 50
    failed = import_each(ROOT, ROOMS)
    assert not failed, "\n".join(f"{name}:\n{trace}" for name, trace in failed.items())


def test_a_circle_is_caught(tmp_path):
    room = tmp_path / "circled"
    room.mkdir()
    (room / "__init__.py").write_text("")
    (room / "fields.py").write_text("from circled.writer import Writer\nFIELDS = ('id',)\n")
    (room / "writer.py").write_text("from circled.fields import FIELDS\nclass Writer: ...\n")
    failed = import_each(tmp_path, ("circled",))
    assert set(failed) == {"circled.fields", "circled.writer"}
    assert "partially initialized module" in failed["circled.fields"]
