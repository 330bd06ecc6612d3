"""`seismo tokens create/list/revoke`: shown once, stored as a digest, errors in one line."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from seismo.cli import EXIT_INPUT, app
from seismo.store import open_store, upgrade

runner = CliRunner()


def test_create_prints_the_token_last_and_stores_only_its_digest(store_url: str) -> None:
    upgrade(store_url)
    result = runner.invoke(
        app, ["tokens", "create", "ci", "--scope", "read,ingest", "--store", store_url]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("seismo_") and len(token) >= 40
    store = open_store(store_url)
    try:
        [stored] = store.list_tokens()
        assert (stored.name, stored.scopes, stored.active) == ("ci", ("ingest", "read"), True)
        found = store.find_token(hashlib.sha256(token.encode()).hexdigest())
        assert found is not None and found.name == "ci"
        # Nothing in the database holds the token itself.
        from sqlalchemy import text

        with store.transaction() as connection:  # type: ignore[attr-defined]
            dump = "\n".join(
                str(row) for row in connection.execute(text("SELECT * FROM api_tokens"))
            )
        assert token not in dump and token[7:] not in dump
    finally:
        store.close()
    listed = runner.invoke(app, ["tokens", "list", "--store", store_url])
    assert (
        listed.exit_code == 0
        and listed.stdout.split()[:2] == ["ci", "ingest,read"]
        and "active" in listed.stdout
    )
    assert token not in listed.stdout
    second = runner.invoke(
        app, ["tokens", "create", "ci", "--scope", "admin", "--store", store_url]
    )
    assert second.exit_code == EXIT_INPUT
    assert (
        "exists; revoke it first" in second.output and len(second.output.strip().splitlines()) == 1
    )
    revoked = runner.invoke(app, ["tokens", "revoke", "ci", "--store", store_url])
    assert revoked.exit_code == 0 and "revoked token ci" in revoked.stdout
    again = runner.invoke(app, ["tokens", "revoke", "ci", "--store", store_url])
    assert again.exit_code == EXIT_INPUT and "no active token named ci" in again.output
    renewed = runner.invoke(
        app, ["tokens", "create", "ci", "--scope", "admin", "--store", store_url]
    )
    assert renewed.exit_code == 0
    assert renewed.stdout.strip().splitlines()[-1] != token


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--scope", "read,write"], "unknown scope(s) ['write']"),
        (["x", "--scope", ","], "give one or more of predict, ingest, read, admin"),
        (["bad name", "--scope", "read"], "token name 'bad name'"),
        (["\x1b[31m", "--scope", "read"], "token name"),
    ],
)
def test_create_refuses_bad_scopes_and_names(store_url: str, args: list[str], message: str) -> None:
    upgrade(store_url)
    result = runner.invoke(app, ["tokens", "create", *args, "--store", store_url])
    assert result.exit_code == EXIT_INPUT
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "\x1b" not in result.output
