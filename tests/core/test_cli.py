"""The `cornerstone` command as an operator meets it: mistakes are told in words a person
reads (the rule, with an example), and a command that could not do what it was asked exits
non-zero rather than printing as if it had."""

from __future__ import annotations

import asyncio
from typing import Any

from click.testing import CliRunner, Result

from app.cli import main as cli


async def _run(*args: str) -> Result:
    # In a thread: the command runs its own event loop, as from a shell.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def test_a_bad_slug_is_refused_with_the_rule_stated() -> None:
    for slug in ("Vanke-South", "pg_group", "ab"):
        result = await _run("tenants", "create", slug, "--name", "Vanke")
        assert result.exit_code == 1, result.output
        assert "lowercase letters and digits, words joined by single underscores" in result.output
        assert "e.g. vanke_south" in result.output and "regex" not in result.output and "$." not in result.output


async def test_an_unknown_time_zone_or_locale_is_refused_before_anything_is_made() -> None:
    result = await _run("tenants", "create", "cli_words", "--name", "Words", "--time-zone", "Mars/Olympus",
                        "--locale", "xx")
    assert result.exit_code == 1, result.output
    assert "--time-zone 'Mars/Olympus' is not an IANA time zone name (e.g. Asia/Shanghai, UTC)" in result.output
    assert "--locale 'xx' is not a language tag of a known language" in result.output
    assert "created" not in result.output


async def test_unknown_tenants_exit_non_zero(new_tenant: Any) -> None:
    upgraded = await _run("db", "upgrade", "--tenant", "nosuch")
    assert upgraded.exit_code == 1 and "no tenant named nosuch" in upgraded.output, upgraded.output

    minted = await _run("tokens", "mint", "--tenant", "nosuch")
    assert minted.exit_code == 1 and "no tenant named nosuch" in minted.output, minted.output
    assert "ey" not in minted.output  # no token printed

    # A tenant that exists gets its token, and its migration runs.
    slug = await new_tenant("cli")
    minted = await _run("tokens", "mint", "--tenant", slug, "--scope", "org:read")
    assert minted.exit_code == 0 and minted.output.startswith("ey"), minted.output
    upgraded = await _run("db", "upgrade", "--tenant", slug)
    assert upgraded.exit_code == 0, upgraded.output


async def test_a_token_for_a_suspended_tenant_is_not_minted(new_tenant: Any) -> None:
    slug = await new_tenant("cli")
    suspended = await _run("tenants", "suspend", slug, "--reason", "unpaid invoice")
    assert suspended.exit_code == 0, suspended.output
    minted = await _run("tokens", "mint", "--tenant", slug)
    assert minted.exit_code == 1, minted.output
    assert f"the tenant {slug} is suspended: its tokens are refused" in minted.output


def test_the_readme_table_names_every_command_and_option() -> None:
    import re
    from pathlib import Path

    import click

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## The `cornerstone` command", 1)[1].split("\n## ", 1)[0]
    rows = [cells[1] for cells in (line.split("|") for line in section.splitlines()) if len(cells) > 2]

    def leaves(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += leaves(command, (*path, name))
            else:
                found.append(((*path, name), command))
        return found

    missing = []
    for path, command in leaves(cli):
        row = next((r for r in rows if all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", r) for w in path)), None)
        if row is None:
            missing.append(" ".join(path))
            continue
        missing += [f"{' '.join(path)} {option.opts[0]}" for option in command.params
                    if isinstance(option, click.Option) and not any(o in row for o in (*option.opts,
                                                                                     *option.secondary_opts))]
    assert not missing, f"the README's command table lacks: {missing}"
