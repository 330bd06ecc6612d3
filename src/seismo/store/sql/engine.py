"""Engines, transactions and the schema: what every part of the SQL store shares."""

from __future__ import annotations

import contextlib
import hashlib
import shlex
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Engine, make_url

from seismo.store.base import (
    DuplicatePrediction,
    SchemaOutdated,
    Store,
    StoreError,
    StoreUnavailable,
)
from seismo.store.sql.tables import (
    _PREDICTION_ID_CONSTRAINT,
)

_WRITE: Final = "seismo_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)

UPGRADE_COMMAND: Final = "seismo db upgrade --store {url}"

# -- engine ---------------------------------------------------------------------------------


def upgrade_command(url: str) -> str:
    """The shell command that migrates the store at ``url`` (password masked)."""
    return UPGRADE_COMMAND.format(url=shlex.quote(shown_url(url)))


def shown_url(url: str) -> str:
    """``url`` safe for messages and logs: the password masked."""
    parsed = make_url(url)
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def create_store_engine(
    url: str | URL, *, busy_timeout_ms: int = 15_000, connect_timeout_s: int = 5
) -> Engine:
    """An engine for the store at ``url``, with the settings every store connection needs.

    SQLite: the parent directory is created; each connection gets ``journal_mode=WAL``,
    ``synchronous=FULL`` (a commit survives a crash and a power cut), ``foreign_keys=ON`` and
    ``busy_timeout``; SQLAlchemy issues ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for writes, so
    writers queue on the lock instead of failing to upgrade a read transaction.
    PostgreSQL: ``connect_timeout`` (unless the URL sets it) and a pre-ping that replaces
    connections the server dropped.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            raise ValueError(
                "the SQLite store needs a file, e.g. sqlite:///seismo.db or "
                "sqlite:////var/lib/seismo/seismo.db; an in-memory database is not a store"
            )
        if not parsed.query.get("uri"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = connect_timeout_s
        if "application_name" not in parsed.query:
            connect_args["application_name"] = "seismo"
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    raise ValueError(f"the SQL store supports sqlite and postgresql, not {backend!r}")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module must not issue BEGIN itself: on_begin below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # 64 MiB of page cache (the default is 2 MiB): the id index takes random inserts.
            cursor.execute("PRAGMA cache_size = -65536")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class _FifoLock:
    """A lock granted in arrival order (a released ``threading.Lock`` goes to whichever
    thread gets there first, which lets busy writers starve a waiting one)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        return True  # release() handed it over just as the wait timed out

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by that waiter
            else:
                self._held = False


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(f"seismo.store.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class SQLBase(Store):
    """The store on SQLite or PostgreSQL through SQLAlchemy.

    Parameters
    ----------
    url
        ``sqlite:///path/to/seismo.db`` or ``postgresql+psycopg://user@host:5432/db``.
    busy_timeout_ms
        SQLite: how long a writer waits for another writer before the store reports
        :class:`StoreUnavailable`.
    connect_timeout_s
        PostgreSQL: how long to wait for a connection (unless the URL sets ``connect_timeout``).

    The schema is not checked here; :func:`seismo.store.open_store` calls :meth:`check`.
    """

    def __init__(self, url: str, *, busy_timeout_ms: int = 15_000, connect_timeout_s: int = 5):
        self._url = url
        self._engine = create_store_engine(
            url, busy_timeout_ms=busy_timeout_ms, connect_timeout_s=connect_timeout_s
        )
        self._postgres = self._engine.dialect.name == "postgresql"
        # SQLite's busy handler polls, so writers of one process under steady contention can
        # starve one another past the busy timeout; they queue on this lock instead (other
        # processes still wait in the busy handler).
        self._write_lock = None if self._postgres else _FifoLock()
        self._write_wait_s = busy_timeout_ms / 1000

    @property
    def url(self) -> str:
        return self._url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and instrumentation; rows stay in this module)."""
        return self._engine

    def __repr__(self) -> str:
        return f"SQLStore({shown_url(self._url)!r})"

    # -- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises.

        Database errors leave as :class:`StoreUnavailable` (cannot connect, connection lost,
        database locked or out of resources), :class:`DuplicatePrediction` (unique violation
        on a prediction id) or :class:`StoreError` (anything else).
        """
        lock = self._write_lock if write else None
        if lock is not None and not lock.acquire(timeout=self._write_wait_s):
            raise StoreUnavailable(
                f"the store database {shown_url(self._url)} is unavailable: other writers "
                f"held it for more than {self._write_wait_s:g} s"
            )
        try:
            with self._engine.connect() as connection:
                if write:
                    connection.execution_options(**{_WRITE: True})
                with connection.begin():
                    yield connection
        except exc.SQLAlchemyError as error:
            raise self._translate(error) from error
        finally:
            if lock is not None:
                lock.release()

    def _translate(self, error: exc.SQLAlchemyError) -> StoreError:
        original = getattr(error, "orig", None)
        detail = " ".join(str(original if original is not None else error).split())
        if isinstance(error, exc.IntegrityError):
            if _PREDICTION_ID_CONSTRAINT in detail or "predictions.id" in detail:
                return DuplicatePrediction(f"a prediction id already exists: {detail}")
            return StoreError(f"the store refused the write: {detail}")
        unavailable = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
        lost = isinstance(error, exc.DBAPIError) and error.connection_invalidated
        # sqlite3 reports a missing table as an OperationalError too: that is no outage.
        schema = self._engine.dialect.name == "sqlite" and detail.startswith("no such ")
        if (lost or isinstance(error, unavailable)) and not schema:
            return StoreUnavailable(
                f"the store database {shown_url(self._url)} is unavailable: {detail}"
            )
        return StoreError(f"store error on {shown_url(self._url)}: {detail}")

    def _serialise_writers(self, connection: Connection, name: str) -> None:
        """PostgreSQL: one writer of ``name`` at a time until commit (SQLite: already so)."""
        if self._postgres:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_advisory_key(name))))

    # -- schema ------------------------------------------------------------------------------
    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` in one transaction (concurrent callers queue)."""
        from seismo.store import migrations

        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "migrations")
            migrations.upgrade(connection, revision)

    def check(self) -> None:
        from seismo.store import migrations

        with self.transaction() as connection:
            current = migrations.current_revisions(connection)
        head = migrations.head_revision()
        if current == (head,):
            return
        where = f"the store database {shown_url(self._url)}"
        unknown = [revision for revision in current if revision not in migrations.known_revisions()]
        if unknown:
            raise SchemaOutdated(
                f"{where} has schema revision {', '.join(unknown)}, written by a newer seismo "
                f"(this one knows up to {head}); upgrade seismo"
            )
        found = f"revision {', '.join(current)}" if current else "no seismo tables"
        raise SchemaOutdated(
            f"{where} has {found}, this seismo needs schema revision {head}; "
            f"run: {upgrade_command(self._url)}"
        )

    def close(self) -> None:
        self._engine.dispose()

    def _upsert(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        """INSERT ... ON CONFLICT (key) DO UPDATE SET every other column (both dialects)."""
        if self._postgres:
            pg_insert = postgresql.insert(table)
            pg_values = {
                column.name: pg_insert.excluded[column.name]
                for column in table.columns
                if column.name not in key
            }
            return pg_insert.on_conflict_do_update(index_elements=list(key), set_=pg_values)
        lite_insert = sqlite.insert(table)
        lite_values = {
            column.name: lite_insert.excluded[column.name]
            for column in table.columns
            if column.name not in key
        }
        return lite_insert.on_conflict_do_update(index_elements=list(key), set_=lite_values)
