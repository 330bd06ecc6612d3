"""Labels: joined to their predictions, with a change log the monitor resumes from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from seismo.store.base import (
    Label,
    LabelChange,
    LabelOutcome,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _LOOKUP_CHUNK,
    _chunks,
    _encode_canonical,
    _utc,
    label_changes,
    predictions,
)

_LABEL_PAGE: Final = 10_000  # label changes fetched per query


@dataclass(slots=True)
class _LabelState:
    seq: int
    model: str
    label: str | None


_LABEL_UPDATE: Final = (
    predictions.update()
    .where(predictions.c.seq == sa.bindparam("b_seq"))
    .values(label=sa.bindparam("b_label"), labelled_at=sa.bindparam("b_labelled_at"))
)


class Labels(SQLBase):
    # -- labels ------------------------------------------------------------------------------
    def add_labels(self, labels: Sequence[Label], *, model: str | None = None) -> LabelOutcome:
        if not labels:
            return LabelOutcome()
        prepared: list[tuple[str, str, datetime]] = []
        for label in labels:
            if label.label is None:
                raise ValueError(
                    f"the label of prediction {label.prediction_id!r} is null; "
                    "send the ground-truth value"
                )
            try:
                text = _encode_canonical(label.label)
            except TypeError as error:
                raise TypeError(f"label of prediction {label.prediction_id!r}: {error}") from None
            prepared.append(
                (label.prediction_id, text, _utc(label.received_at, "label received_at"))
            )
        ids = list(dict.fromkeys(prediction_id for prediction_id, _, _ in prepared))
        inserted = updated = unchanged = 0
        unknown: dict[str, None] = {}
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "label_changes")
            # Every version that answered the request: the champion, and its shadow if any.
            states: dict[str, list[_LabelState]] = {}
            for chunk in _chunks(ids, _LOOKUP_CHUNK):
                query = sa.select(
                    predictions.c.id, predictions.c.seq, predictions.c.model, predictions.c.label
                ).where(predictions.c.id.in_(chunk))
                if model is not None:
                    query = query.where(predictions.c.model == model)
                for row in connection.execute(query.order_by(predictions.c.seq)):
                    found = states.setdefault(row.id, [])
                    if found and found[0].model != row.model:
                        raise ValueError(
                            f"prediction id {row.id!r} belongs to more than one model "
                            f"({found[0].model!r}, {row.model!r}); give the model"
                        )
                    found.append(_LabelState(row.seq, row.model, row.label))
            changed: dict[int, dict[str, Any]] = {}
            log: list[dict[str, Any]] = []
            for prediction_id, text, received_at in prepared:
                answered = states.get(prediction_id)
                if not answered:
                    unknown[prediction_id] = None
                    continue
                served = answered[0]  # counted once per request, whatever scored it
                if served.label == text:
                    unchanged += 1
                elif served.label is None:
                    inserted += 1
                else:
                    updated += 1
                for state in answered:
                    if state.label == text:
                        continue
                    state.label = text
                    changed[state.seq] = {
                        "b_seq": state.seq,
                        "b_label": text,
                        "b_labelled_at": received_at,
                    }
                    log.append(
                        {
                            "prediction_seq": state.seq,
                            "model": state.model,
                            "label": text,
                            "received_at": received_at,
                        }
                    )
            if changed:
                connection.execute(_LABEL_UPDATE, list(changed.values()))
                connection.execute(label_changes.insert(), log)
        return LabelOutcome(
            inserted=inserted, updated=updated, unchanged=unchanged, unknown_ids=tuple(unknown)
        )

    def iter_label_changes(self, model: str, *, after_seq: int = 0) -> Iterator[LabelChange]:
        while True:
            query = (
                sa.select(
                    label_changes.c.seq,
                    predictions.c.id,
                    predictions.c.model,
                    predictions.c.version,
                    predictions.c.timestamp,
                )
                .join(predictions, predictions.c.seq == label_changes.c.prediction_seq)
                .where(label_changes.c.model == model, label_changes.c.seq > after_seq)
                .order_by(label_changes.c.seq)
                .limit(_LABEL_PAGE)
            )
            with self.transaction() as connection:
                rows = connection.execute(query).all()
            for row in rows:
                yield LabelChange(
                    seq=row.seq,
                    prediction_id=row.id,
                    model=row.model,
                    version=row.version,
                    timestamp=row.timestamp,
                )
            if len(rows) < _LABEL_PAGE:
                return
            after_seq = rows[-1].seq
