"""API tokens (digests only) and leases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from seismo.store.base import ApiToken, UiSession
from seismo.store.sql.engine import SQLBase
from seismo.store.sql.tables import _utc, api_tokens, leases, ui_sessions


def _token(row: Any) -> ApiToken:
    return ApiToken(row.name, tuple(json.loads(row.scopes)), row.created_at, row.revoked_at)


class Access(SQLBase):
    # -- tokens ------------------------------------------------------------------------------
    def add_token(
        self, name: str, token_hash: str, scopes: Sequence[str], *, at: datetime
    ) -> ApiToken:
        token = ApiToken(name, tuple(scopes), _utc(at, "at"))
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "api_tokens")
            found = connection.execute(
                sa.select(api_tokens.c.revoked_at).where(api_tokens.c.name == name)
            ).first()
            if found is not None and found.revoked_at is None:
                raise ValueError(f"a token named {name!r} exists; revoke it first")
            connection.execute(api_tokens.delete().where(api_tokens.c.name == name))
            connection.execute(
                api_tokens.insert().values(
                    name=name,
                    token_hash=token_hash,
                    scopes=json.dumps(list(token.scopes)),
                    created_at=token.created_at,
                    revoked_at=None,
                )
            )
        return token

    def list_tokens(self) -> list[ApiToken]:
        with self.transaction() as connection:
            rows = connection.execute(sa.select(api_tokens).order_by(api_tokens.c.name)).all()
        return [_token(row) for row in rows]

    def find_token(self, token_hash: str) -> ApiToken | None:
        query = sa.select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        with self.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else _token(row)

    def revoke_token(self, name: str, *, at: datetime) -> bool:
        with self.transaction(write=True) as connection:
            revoked = connection.execute(
                api_tokens.update()
                .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=_utc(at, "at"))
            ).rowcount
        return bool(revoked)

    # -- UI sessions -------------------------------------------------------------------------
    def add_ui_session(self, session: UiSession, *, purge_before: datetime) -> None:
        table = ui_sessions
        with self.transaction(write=True) as connection:
            connection.execute(
                table.delete().where(table.c.expires_at < _utc(purge_before, "purge_before"))
            )
            connection.execute(
                table.insert().values(
                    id_hash=session.id_hash,
                    token_hash=session.token_hash,
                    csrf=session.csrf,
                    created_at=_utc(session.created_at, "created_at"),
                    expires_at=_utc(session.expires_at, "expires_at"),
                )
            )

    def get_ui_session(self, id_hash: str) -> UiSession | None:
        table = ui_sessions
        with self.transaction() as connection:
            row = connection.execute(sa.select(table).where(table.c.id_hash == id_hash)).first()
        if row is None:
            return None
        return UiSession(row.id_hash, row.token_hash, row.csrf, row.created_at, row.expires_at)

    def end_ui_session(self, id_hash: str) -> bool:
        table = ui_sessions
        with self.transaction(write=True) as connection:
            ended = connection.execute(table.delete().where(table.c.id_hash == id_hash)).rowcount
        return bool(ended)

    # -- leases ------------------------------------------------------------------------------
    def acquire_lease(self, name: str, holder: str, *, until: datetime, now: datetime) -> bool:
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, f"lease:{name}")
            found = connection.execute(
                sa.select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
            ).first()
            if found is None:
                connection.execute(
                    leases.insert().values(
                        name=name, holder=holder, expires_at=_utc(until, "until")
                    )
                )
                return True
            if found.holder != holder and found.expires_at > _utc(now, "now"):
                return False
            connection.execute(
                leases.update()
                .where(leases.c.name == name)
                .values(holder=holder, expires_at=_utc(until, "until"))
            )
        return True

    def release_lease(self, name: str, holder: str) -> None:
        with self.transaction(write=True) as connection:
            connection.execute(
                leases.delete().where(leases.c.name == name, leases.c.holder == holder)
            )
