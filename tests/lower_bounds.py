"""Print pip constraints pinning every dependency of pyproject.toml to its lower bound.

`make test-min` installs the project with them and runs the suite: the bounds declared are
then bounds the code was tested on, not guesses. (pip has no "lowest" resolution of its own.)
Usage: python tests/lower_bounds.py [pyproject.toml] > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def constraints(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins = {}
    for requirement in requirements:
        match = LOWER_BOUND.match(requirement)
        if match and match[1].lower() != project["name"]:
            pins[match[1].lower()] = f"{match[1]}=={match[2]}"
    return sorted(pins.values())


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent
    path = root if root.suffix == ".toml" else root / "pyproject.toml"
    print("\n".join(constraints(path)))
