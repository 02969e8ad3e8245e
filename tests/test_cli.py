"""The command line: help everywhere, clear errors for a user's mistakes."""

from __future__ import annotations

import importlib
import json
import pkgutil

import click
import pytest
from click.testing import CliRunner

import portal_archive.commands
from portal_archive.cli import COMMANDS, cli


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_help(command, flag):
    result = CliRunner().invoke(cli, [command, flag])
    assert result.exit_code == 0
    assert "Usage:" in result.output and "Example:" in result.output


def test_the_listing_says_what_each_command_says_of_itself():
    listing = CliRunner().invoke(cli, ["--help"]).output
    for name, entry in COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == entry.summary
        assert f"\n  {name} " in listing


def test_every_command_defined_is_registered():
    defined = set()
    for module in pkgutil.iter_modules(portal_archive.commands.__path__):
        found = importlib.import_module(f"portal_archive.commands.{module.name}")
        defined |= {f"{module.name}.{name}" for name, value in vars(found).items()
                    if isinstance(value, click.Command)
                    and value.callback.__module__ == found.__name__}
    assert defined == {f"{e.module}.{e.function}" for e in COMMANDS.values()}


def test_portals_lists_the_registry_as_json():
    result = CliRunner().invoke(cli, ["portals", "--json"])
    assert result.exit_code == 0
    portals = json.loads(result.output)
    ids = {p["id"] for p in portals}
    assert {"aluoi-tth", "vinhbao-hp", "baonghean", "quangninh-vpubnd"} <= ids
    assert all(p["checked"] is False for p in portals)


@pytest.mark.parametrize("args, message", [
    (["crawl", "--portal", "no-such-portal"], "unknown portal id: no-such-portal"),
    (["crawl", "-s", "NOEQUALS"], "is not NAME=VALUE"),
    (["crawl", "--fixtures", "."], "has no index.json"),
])
def test_user_mistakes_get_one_clear_line(args, message, tmp_path):
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), *args])
    assert result.exit_code != 0
    assert message in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_demo_refuses_to_wipe_a_directory_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["demo", "--output", str(tmp_path)])
    assert result.exit_code == 1
    assert "was not made by the demo" in result.output
    assert (tmp_path / "precious.txt").exists()
