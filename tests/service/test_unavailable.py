"""An unreachable database answers 503 on the write path, never an acknowledgement."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

import seismo
from seismo.loop.models import register_model
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import open_store
from tests.service.conftest import FEATURES, training_frame


def _admin_url() -> str:
    url = os.environ.get("SEISMO_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("SEISMO_TEST_POSTGRES_URL is not set in CI")
        pytest.skip("SEISMO_TEST_POSTGRES_URL is not set: PostgreSQL outage test not run")
    return url


@pytest.fixture
def database() -> Iterator[tuple[str, str]]:
    """A throwaway database; yields (its SQLAlchemy URL, the libpq URL of the admin database)."""
    admin = _admin_url().replace("postgresql+psycopg://", "postgresql://")
    name = f"seismo_outage_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = _admin_url().rpartition("/")
    try:
        yield f"{base}/{name}?connect_timeout=3", admin
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_writes_answer_503_while_the_database_is_down(database: tuple[str, str]) -> None:
    url, admin = database
    name = url.rsplit("/", 1)[1].split("?")[0]
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(
        training_frame(), {"columns": {"malignant": {"role": "target"}}}
    )
    register_model(store, "m", reference=reference, task="classification", classes=["no", "yes"])
    rows = [
        {"features": row, "output": "no"}
        for row in training_frame(3, seed=2)[FEATURES].to_dict(orient="records")
    ]
    with TestClient(create_app(ServiceSettings(store=url), store=store)) as client:
        assert client.post("/v1/models/m/predictions", json=rows).status_code == 200
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        down = client.post("/v1/models/m/predictions", json=rows)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "store_unavailable"
        labels = client.post("/v1/models/m/labels", json=[{"prediction_id": "x", "label": "no"}])
        assert labels.status_code == 503
        assert client.get("/readyz").status_code == 503
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        back = client.post("/v1/models/m/predictions", json=rows)
        assert back.status_code == 200, back.text
        assert store.count_predictions("m") == 6
    store.close()
