"""Database passwords never reach the terminal: `seismo db upgrade` names the store masked."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from seismo.cli import app

PASSWORD = "s3cret-Pa55"


def test_db_upgrade_masks_the_password(store_url: str, backend: str) -> None:
    url = store_url
    if backend == "postgresql":  # trust authentication: any password connects
        url = make_url(store_url).set(password=PASSWORD).render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["db", "upgrade", "--store", url])
    assert result.exit_code == 0, result.output
    assert "store schema is up to date" in result.output
    assert PASSWORD not in result.output
    if backend == "postgresql":
        assert "***" in result.output
