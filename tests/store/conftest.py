"""Store fixtures: every test that takes ``store`` or ``store_url`` runs on every backend.

SQLite always runs (a file under ``tmp_path``). PostgreSQL runs when
``SEISMO_TEST_POSTGRES_URL`` names a server; each test gets a schema of its own (the URL's
``search_path`` points into it, so Alembic's version table lands there too), dropped after.
Without the variable the PostgreSQL cases are skipped, saying so, and fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from seismo.store import Store, open_store

POSTGRES_URL_VARIABLE = "SEISMO_TEST_POSTGRES_URL"
POSTGRES_NOT_RUN = f"{POSTGRES_URL_VARIABLE} is not set: PostgreSQL store tests were not run"
BACKENDS = ("sqlite", "postgresql")


def postgres_base_url() -> str:
    """The PostgreSQL server of the tests; skips (or fails under CI) when there is none."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_NOT_RUN}, and CI is set: CI must run them", pytrace=False)
    pytest.skip(POSTGRES_NOT_RUN)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with every connection's ``search_path`` set to ``schema``."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test server, for creating and dropping schemas."""
    engine = sa.create_engine(postgres_base_url(), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql":
        postgres_base_url()
    return name


@contextmanager
def empty_database(backend: str, request: pytest.FixtureRequest, directory: Path) -> Iterator[str]:
    """The URL of an empty database (no tables) on ``backend``: a SQLite file under
    ``directory``, or a PostgreSQL schema of its own, dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'store' / 'seismo.db'}"
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"t_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(postgres_base_url(), schema)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no tables) on ``backend``."""
    with empty_database(backend, request, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request: pytest.FixtureRequest) -> str:
    """``backend`` for fixtures one module's tests share."""
    name: str = request.param
    if name == "postgresql":
        postgres_base_url()
    return name


@pytest.fixture(scope="module")
def module_store_url(
    module_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``store_url`` shared by the tests of one module (on each backend)."""
    with empty_database(module_backend, request, tmp_path_factory.mktemp("shared")) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A store at the current schema on ``backend``."""
    opened = open_store(store_url, upgrade=True)
    yield opened
    opened.close()
