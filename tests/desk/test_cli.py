"""`antifraud desk users|areas ...` against the session's real Redis (and broker, for the audit)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from antifraud.desk.cli import desk_app
from antifraud.desk.passwords import verify_password
from antifraud.settings import get_settings
from tests.desk.conftest import Desk
from tests.desk.factories import unique


@pytest.fixture()
def cli_env(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    settings = desk.settings
    assert settings.redis_url is not None and settings.kafka_bootstrap is not None
    monkeypatch.setenv("REDIS_URL", settings.redis_url.get_secret_value())
    monkeypatch.setenv("KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    monkeypatch.setenv("ANTIFRAUD_REDIS_PREFIX", settings.redis_prefix)
    get_settings.cache_clear()
    yield desk
    get_settings.cache_clear()


async def test_users_and_areas_from_the_shell(cli_env: Desk, tmp_path: Path) -> None:
    runner = CliRunner()
    name = unique("cli").lower()[:32]

    def invoke(args: list[str], stdin: str | None = None) -> Result:
        return runner.invoke(desk_app, args, input=stdin)

    def run(*args: str, stdin: str | None = None) -> str:
        result = invoke(list(args), stdin)
        assert result.exit_code == 0, result.output
        return result.output

    short = await asyncio.to_thread(
        invoke, ["users", "add", name, "--role", "operator", "--password-stdin"], "short\n"
    )
    assert short.exit_code == 2 and "at least 10" in short.output
    unbound = await asyncio.to_thread(
        invoke,
        ["users", "add", name, "--role", "bank_liaison", "--password-stdin"],
        "long enough password\n",
    )
    assert unbound.exit_code == 2 and "bank" in unbound.output

    await asyncio.to_thread(
        run,
        "users",
        "add",
        name,
        "--role",
        "bank_liaison",
        "--bank",
        "icbc",
        "--password-stdin",
        stdin="long enough password\n",
    )
    stored = await cli_env.console.users.get(name)
    assert stored is not None and stored.user.bank == "ICBC"
    assert stored.password_hash.startswith("scrypt$") and "long enough" not in stored.password_hash
    assert verify_password("long enough password", stored.password_hash)

    listing = await asyncio.to_thread(run, "users", "list")
    assert f"{name}\tbank_liaison\tICBC\tactive" in listing and "scrypt" not in listing

    token = (await asyncio.to_thread(run, "users", "token", name)).strip()
    assert token.startswith("afd_")
    assert (await cli_env.console.users.user_for_token(token)) is not None

    await asyncio.to_thread(run, "users", "disable", name)
    assert (await cli_env.console.users.user_for_token(token)) is None  # tokens revoked
    assert "disabled" in await asyncio.to_thread(run, "users", "list")

    await asyncio.to_thread(
        run, "users", "passwd", name, "--password-stdin", stdin="another good one\n"
    )
    changed = await cli_env.console.users.get(name)
    assert changed is not None and verify_password("another good one", changed.password_hash)

    areas = tmp_path / "areas.csv"
    areas.write_text(
        "area_code,district,station,grid,contact\n"
        "990101,Test District,Test Station,,ext. 1\n"
        "990101-001,Test District,Test Station North,Grid 001,ext. 2\n",
        encoding="utf-8",
    )
    assert "imported 2 areas" in await asyncio.to_thread(run, "areas", "import", str(areas))
    directory = await cli_env.console.areas.load()
    found = directory.lookup("990101-002")  # falls back to the district
    assert found is not None and found.station == "Test Station"
    bad = tmp_path / "bad.csv"
    bad.write_text("area_code,station\n990101,x\n", encoding="utf-8")
    refused = await asyncio.to_thread(invoke, ["areas", "import", str(bad)])
    assert refused.exit_code == 2 and "missing column" in refused.output
    # Put the demo directory back for the other tests.
    from antifraud.desk.areas import demo_areas

    await cli_env.console.areas.replace(demo_areas())
