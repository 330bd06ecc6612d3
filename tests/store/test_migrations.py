"""Alembic owns the schema: upgrades, downgrades, the refusal to run on an old schema, and
models and migrations that never drift apart — on every backend."""

from __future__ import annotations

import contextlib
import io
import shlex
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from seismo.store import DuplicatePrediction, Label, Prediction, SchemaOutdated, open_store, upgrade
from seismo.store import migrations as store_migrations
from seismo.store.sql import SQLStore, metadata, upgrade_command

TABLES = {
    "model_versions",
    "prediction_batches",
    "predictions",
    "label_changes",
    "window_summaries",
    "watermarks",
    "alerts",
    "alert_events",
    "silences",
    "api_tokens",
    "leases",
    "ui_sessions",
    "window_digests",
    "monitor_errors",
    "rollouts",
    "decisions",
}
AT = datetime(2024, 3, 1, tzinfo=UTC)


@contextlib.contextmanager
def sql_store(url: str) -> Iterator[SQLStore]:
    store = SQLStore(url)
    try:
        yield store
    finally:
        store.close()


def table_names(url: str) -> set[str]:
    with sql_store(url) as store, store.engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names())


def revisions(url: str) -> tuple[str, ...]:
    with sql_store(url) as store, store.transaction() as connection:
        return store_migrations.current_revisions(connection)


def test_upgrade_from_empty_creates_the_tables_at_head(store_url: str) -> None:
    assert table_names(store_url) == set()
    upgrade(store_url)
    assert table_names(store_url) == TABLES | {"alembic_version"}
    assert revisions(store_url) == (store_migrations.head_revision(),)


def test_an_empty_database_is_refused_with_the_upgrade_command(store_url: str) -> None:
    with pytest.raises(SchemaOutdated) as caught:
        open_store(store_url)
    message = str(caught.value)
    assert "no seismo tables" in message
    assert message.endswith(f"run: seismo db upgrade --store {shlex.quote(store_url)}")
    # The command in the message, run as it says, makes the store open.
    upgrade(shlex.split(message.rpartition("run: ")[2])[-1])
    open_store(store_url).close()
    assert table_names(store_url) >= TABLES  # refusing created nothing, upgrading did


def test_downgrade_to_base_then_upgrade_again(store_url: str) -> None:
    store = open_store(store_url, upgrade=True)
    assert isinstance(store, SQLStore)
    try:
        store.add_predictions([Prediction("p", "churn", 1, AT, {"x": 1}, 0)])
        with store.transaction(write=True) as connection:
            store_migrations.downgrade(connection, "base")
        assert table_names(store_url) == {"alembic_version"}
        with pytest.raises(SchemaOutdated):
            store.check()
        store.upgrade()
        store.check()
        assert store.count_predictions("churn") == 0
        store.add_predictions([Prediction("p", "churn", 1, AT, {"x": 1}, 0)])
        assert store.count_predictions("churn") == 1
    finally:
        store.close()


def test_models_and_migrations_agree(store_url: str) -> None:
    upgrade(store_url)
    with sql_store(store_url) as store, store.transaction() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_again_changes_nothing(store_url: str) -> None:
    store = open_store(store_url, upgrade=True)
    try:
        store.add_predictions([Prediction("kept", "churn", 1, AT, {}, 0)])
    finally:
        store.close()
    upgrade(store_url)
    store = open_store(store_url, upgrade=True)
    try:
        assert store.get_prediction("kept") is not None
    finally:
        store.close()


def test_concurrent_upgrades_wait_for_each_other(store_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(store_url)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    open_store(store_url).close()


def test_a_schema_from_a_newer_seismo_is_refused(store_url: str) -> None:
    upgrade(store_url)
    with sql_store(store_url) as store, store.transaction(write=True) as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaOutdated, match=r"9999.*newer seismo.*upgrade seismo"):
        open_store(store_url)


def test_alembic_commands_given_only_a_url(store_url: str) -> None:
    """The path ``env.py`` takes without a connection, as a developer's Alembic call does."""
    config = store_migrations.alembic_config(store_url)
    command.upgrade(config, "head")
    assert revisions(store_url) == (store_migrations.head_revision(),)
    command.downgrade(config, "base")
    assert table_names(store_url) == {"alembic_version"}


def test_offline_sql_script(store_url: str) -> None:
    """``alembic upgrade --sql``: the DDL for a DBA to review, without touching the database."""
    output = io.StringIO()
    config = store_migrations.alembic_config(store_url)
    config.stdout = output
    with contextlib.redirect_stdout(output):
        command.upgrade(config, "head", sql=True)
    script = output.getvalue()
    for table in TABLES:
        assert f"CREATE TABLE {table}" in script
    assert table_names(store_url) == set()


def test_upgrade_command_masks_a_password() -> None:
    shown = upgrade_command("postgresql+psycopg://seismo:s3cret@db:5432/seismo")
    assert "s3cret" not in shown
    assert shown == "seismo db upgrade --store 'postgresql+psycopg://seismo:***@db:5432/seismo'"
    assert upgrade_command("sqlite:///seismo.db") == "seismo db upgrade --store sqlite:///seismo.db"


def test_ids_per_model_migration_keeps_rows_label_log_and_sequence(store_url: str) -> None:
    """0003 rebuilds the predictions table on SQLite: the rows, the label change log (which
    the rebuild's DROP would cascade away) and the seq counter (never reused) all survive."""
    with sql_store(store_url) as store:
        with store.transaction(write=True) as connection:
            store_migrations.upgrade(connection, "0002")
        store.add_predictions(
            [Prediction(f"p{i}", "churn", 1, AT, {"x": i}, i % 2) for i in range(5)]
        )
        store.add_labels([Label("p1", 1, AT), Label("p2", 0, AT)])
        # The newest row deleted by hand: its seq must not be handed out again.
        with store.transaction(write=True) as connection:
            top = connection.execute(sa.text("SELECT max(seq) FROM predictions")).scalar_one()
            connection.execute(sa.text("DELETE FROM predictions WHERE seq = :s"), {"s": top})
        with store.transaction(write=True) as connection:
            store_migrations.upgrade(connection, "head")
        store.check()
        assert store.count_predictions("churn") == 4
        changes = list(store.iter_label_changes("churn"))
        assert [c.prediction_id for c in changes] == ["p1", "p2"]
        store.add_predictions([Prediction("p0", "other", 1, AT, {"x": 0}, 0)])  # per model now
        newest = store.get_prediction("p0", model="other")
        assert newest is not None and newest.seq > top
        with pytest.raises(DuplicatePrediction):
            store.add_predictions([Prediction("p0", "churn", 1, AT, {"x": 0}, 0)])


def test_registry_migration_keeps_versions_and_lets_a_shadow_share_ids(store_url: str) -> None:
    """0004: versions registered before it read back as "registered" with no lineage; the
    rows and label log survive the rebuild; a second version may log the same request id."""
    with sql_store(store_url) as store:
        with store.transaction(write=True) as connection:
            store_migrations.upgrade(connection, "0003")
            connection.execute(
                sa.text(
                    "INSERT INTO model_versions (model, version, task, reference, artifact, "
                    "classes, features, description, created_at) VALUES ('churn', 1, "
                    "'classification', :ref, NULL, '[\"0\",\"1\"]', '[\"x\"]', '', :at)"
                ),
                {"ref": b"r", "at": AT},
            )
        store.add_predictions(
            [Prediction(f"p{i}", "churn", 1, AT, {"x": i}, i % 2) for i in range(3)]
        )
        store.add_labels([Label("p1", 1, AT)])
        with store.transaction(write=True) as connection:
            store_migrations.upgrade(connection, "head")
        store.check()
        version = store.get_model_version("churn", 1)
        assert version is not None
        assert (version.status, version.lineage, version.parent_version) == ("registered", {}, None)
        assert [c.prediction_id for c in store.iter_label_changes("churn")] == ["p1"]
        store.add_predictions([Prediction("p1", "churn", 2, AT, {"x": 1}, 0)])  # the shadow
        with pytest.raises(DuplicatePrediction, match="version 2"):
            store.add_predictions([Prediction("p1", "churn", 2, AT, {"x": 1}, 0)])
