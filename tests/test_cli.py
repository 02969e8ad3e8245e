"""The command line: help everywhere, clear errors for a user's mistakes."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shlex

import click
import pytest
from click.testing import CliRunner

import portal_archive.commands
from crawler.registry import load_registry
from crawler.runner import known_settings
from portal_archive.cli import COMMANDS, cli
from portal_archive.common import parse_settings


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
        # A group's subcommands (cluster up/down) are registered with their group.
        subcommands = {id(c) for g in vars(found).values() if isinstance(g, click.Group)
                       for c in g.commands.values()}
        defined |= {f"{module.name}.{name}" for name, value in vars(found).items()
                    if isinstance(value, click.Command) and id(value) not in subcommands
                    and value.callback.__module__ == found.__name__}
    assert defined == {f"{e.module}.{e.function}" for e in COMMANDS.values()}


def test_portals_lists_the_registry_and_flags_entries_not_checked():
    registry = load_registry()
    listed = json.loads(CliRunner().invoke(cli, ["portals", "--json"]).output)
    assert [p["id"] for p in listed] == list(registry)
    assert {p["id"]: p["checked"] for p in listed} == {i: p.checked for i, p in registry.items()}
    lines = CliRunner().invoke(cli, ["portals"]).output.splitlines()
    assert len(lines) == len(registry)
    for line, portal in zip(lines, registry.values(), strict=True):
        assert line.startswith(portal.id)
        assert line.endswith("(not checked against the live site)") == (not portal.checked)


@pytest.mark.parametrize("args, message", [
    (["crawl", "--portal", "no-such-portal"], "unknown portal id: no-such-portal"),
    (["crawl", "--portal", "aluoi-th"], "unknown portal id: aluoi-th (did you mean aluoi-tth"),
    (["crawl", "-s", "NOEQUALS"], "is not NAME=VALUE"),
    (["crawl", "--fixtures", "."], "has no index.json"),
    (["export", "--since", "2020-13", "--format", "csv", "--output", "x"], "is not a date"),
    (["export", "--until", "2020-02-30", "--format", "csv", "--output", "x"], "is not a date"),
    (["search", "hội", "--since", "2020-02-30"], "is not a date"),
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


def help_examples() -> list[tuple[str, str]]:
    """(command, example line) for every ``portal-archive`` line under Example: in a help."""
    found = []
    for name in sorted(COMMANDS):
        text = cli.get_command(click.Context(cli), name).help or ""
        lines = text.split("Example:", 1)[-1].splitlines() if "Example:" in text else []
        found += [(name, line.strip()) for line in lines
                  if line.strip().startswith("portal-archive ")]
    return found


def shell_command(line: str) -> str:
    """The part of ``line`` a POSIX shell hands to its first program: up to an unquoted ``|``
    or ``#``. An unquoted ``&``, ``;``, ``<``, ``>`` or parenthesis (an unquoted URL
    query) would cut or redirect the line: the example is wrong."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "|#":
            return line[:i]
        else:
            assert c not in "&;<>()", f"quote the URL or value in: {line}"
    return line


@pytest.mark.parametrize("command, line", help_examples())
def test_every_help_example_copy_pastes(command, line, monkeypatch):
    words = shlex.split(shell_command(line))
    assert words[0] == "portal-archive"
    # As click reads it: the group's options, a command, then its own (paths need not exist
    # on this machine: /srv/archive, page.html).
    group = click.Context(cli, info_name="portal-archive")
    _, rest, _ = cli.make_parser(group).parse_args(words[1:])  # --data DIR, then the command
    assert rest[0] in COMMANDS
    command = cli.get_command(group, rest[0])
    for param in command.params:
        if isinstance(param.type, click.Path):
            monkeypatch.setattr(param.type, "exists", False)
    command.make_context(rest[0], rest[1:], parent=group)


def test_an_unquoted_url_query_in_an_example_is_caught():
    with pytest.raises(AssertionError, match="quote the URL"):
        shell_command("portal-archive show http://p.test/?a=1&b=2")
    assert shell_command("portal-archive show 'http://p.test/?a=1&b=2' | less") == \
        "portal-archive show 'http://p.test/?a=1&b=2' "


@pytest.mark.parametrize("setting, expected", [
    ("DOWNLOAD_DELAY=abc", "DOWNLOAD_DELAY=abc: expects a number (default: 1.0)"),
    ("ROBOTSTXT_OBEY=maybe", "ROBOTSTXT_OBEY=maybe: expects true or false"),
    ("DOWNLOADER_MIDDLEWARES=x", "DOWNLOADER_MIDDLEWARES=x: expects a JSON object"),
    ("RECOVER_IA_RATE=fast", "RECOVER_IA_RATE=fast: expects a number"),
])
def test_a_setting_of_the_wrong_type_is_a_usage_error(setting, expected, tmp_path):
    command = "recover" if setting.startswith("RECOVER") else "crawl"
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), command, "--portal", "aluoi-tth",
                                      "-s", setting])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(f"Error: Invalid value for -s: {expected}")
    assert not (tmp_path / "warc").exists()


def test_typed_settings_reach_the_crawl_as_values():
    assert parse_settings(("DOWNLOAD_DELAY=0.5", "ROBOTSTXT_OBEY=False", "DEPTH_LIMIT=3",
                           "USER_AGENT=123", "RETRY_HTTP_CODES=500,503"), known_settings()) \
        == {"DOWNLOAD_DELAY": 0.5, "ROBOTSTXT_OBEY": False, "DEPTH_LIMIT": 3,
            "USER_AGENT": "123", "RETRY_HTTP_CODES": "500,503"}


def test_a_misspelt_setting_is_named_with_the_closest_one(capsys):
    assert parse_settings(("DOWNLAOD_DELAY=2",), known_settings()) == {"DOWNLAOD_DELAY": 2}
    assert capsys.readouterr().err == ("Warning: -s DOWNLAOD_DELAY: no such setting (did you "
                                       "mean DOWNLOAD_DELAY?); passed on as given\n")
