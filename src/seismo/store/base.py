"""The store contract: domain objects in, domain objects out; no ORM row leaves a backend.

Every backend (SQLAlchemy on SQLite or PostgreSQL) passes one contract test suite
(``tests/store/test_contract.py``). The docstrings of :class:`Store` are the specification.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.errors import SeismoError
from seismo.store.columnar import WindowColumns

JSON = Any  # a value json.dumps accepts
RETENTION_JOB = "retention"  # watermark job: the model's retention horizon, in Unix seconds
COMPACTION_JOB = "compaction"  # watermark job: every JSON row at or below this seq was moved


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered version of a model.

    ``reference`` is a serialised :class:`seismo.profile.Reference` (``Reference.to_bytes()``):
    the training-data profile every window is compared with. ``artifact`` is the path of the
    hosted model file, or None for a model served elsewhere that only logs predictions.
    """

    model: str
    version: int
    task: str  # "classification" or "regression"
    reference: bytes
    created_at: datetime
    artifact: str | None = None
    classes: tuple[str, ...] = ()  # classification: class names; classes[1] is positive
    features: tuple[str, ...] = ()  # input feature names, in order
    description: str = ""
    parent_version: int | None = None  # the version it was retrained from
    # registered (by hand) | candidate (trained, not validated) | rejected (failed validation)
    # | challenger (rolled out beside the champion) | champion | retired | rolled_back
    status: str = "registered"
    # Where it came from: training window and rows, trainer, the trigger decision, the data
    # profile's digest, validation results, who promoted it and when.
    lineage: dict[str, JSON] = field(default_factory=dict)


VERSION_STATUSES = (
    "registered",
    "candidate",
    "rejected",
    "challenger",
    "champion",
    "retired",
    "rolled_back",
)
ROLLOUT_MODES = ("canary", "shadow")


@dataclass(frozen=True, slots=True)
class Rollout:
    """Which version serves a model, and the challenger beside it.

    ``mode`` "canary": ``share`` of the ``:predict`` traffic (sticky by request key) is answered
    by the challenger; "shadow": the challenger scores every request, is logged, and is not
    returned; None: the champion alone.
    """

    model: str
    champion: int
    challenger: int | None = None
    mode: str | None = None
    share: float = 0.0
    started_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision of the closed loop, with its evidence (append-only).

    ``kind``: retrain | validation | rollout | promotion | rollback; ``outcome`` says what
    happened (fired, skipped, passed, failed, started, promoted, rolled_back, kept, ...).
    """

    model: str
    kind: str
    outcome: str
    summary: str
    at: datetime
    actor: str = "seismo"  # "seismo" for the automatic loop, else the token or user name
    version: int | None = None
    evidence: dict[str, JSON] = field(default_factory=dict)
    seq: int = 0  # assigned by the store


@dataclass(frozen=True, slots=True)
class Prediction:
    """One logged prediction. ``id`` is unique per model version (client-supplied or
    generated): two versions may log the same id, e.g. a champion and its shadow answering one
    request, and a label given for that id labels both."""

    id: str
    model: str
    version: int
    timestamp: datetime  # when the prediction was made (timezone-aware, UTC)
    features: dict[str, JSON]
    output: JSON
    score: JSON = None  # positive-class probability, class probabilities, or None


@dataclass(frozen=True, slots=True)
class StoredPrediction:
    """A prediction as read back, with its ingestion sequence number and current label."""

    seq: int  # strictly increasing in ingestion order within a store
    prediction: Prediction
    label: JSON = None
    labelled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WindowData:
    """The predictions of one model version in one window, column by column, in no particular
    row order (the same order in every column).

    ``labels`` holds each row's current label (None where there is none); ``label_delays``
    the seconds from prediction to label (NaN where there is no label).
    """

    columns: WindowColumns  # features by name, outputs, scores
    labels: list[JSON]
    label_delays: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.columns)


@dataclass(frozen=True, slots=True)
class Label:
    prediction_id: str
    label: JSON
    received_at: datetime


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    """What happened to a batch of labels."""

    inserted: int = 0  # first label for a prediction
    updated: int = 0  # a different label replaced an earlier one
    unchanged: int = 0  # the same label again (idempotent re-send)
    unknown_ids: tuple[str, ...] = ()  # no such prediction: nothing stored, reported back


@dataclass(frozen=True, slots=True)
class LabelChange:
    """One entry of the label change log, in the order labels were stored."""

    seq: int
    prediction_id: str
    model: str
    version: int
    timestamp: datetime  # of the prediction, which decides its window


@dataclass(frozen=True, slots=True)
class WindowSummary:
    """The monitor's summary of one model version, time window and segment.

    ``segment`` is "" for the whole window, else "column=value". ``payload`` is the monitor's
    serialised summary (profile, performance statistics); the store does not interpret it.
    ``digest`` is the monitor's small JSON digest of it (per-feature drift, metrics, counts),
    what pages over many windows read instead of the payload (:meth:`Store.window_digests`):
    written with the window, not read back with it.
    """

    model: str
    version: int
    start: datetime
    end: datetime
    segment: str
    payload: bytes
    updated_at: datetime = field(compare=False, default=datetime.min)
    digest: str | None = field(compare=False, default=None)


@dataclass(frozen=True, slots=True)
class WindowDigest:
    """A stored window's key and digest, read without its payload (see
    :class:`WindowSummary`); ``updated_at`` is that of the summary the digest was computed
    from. Both are None for a window stored without a digest."""

    model: str
    version: int
    start: datetime
    end: datetime
    segment: str
    updated_at: datetime | None
    digest: str | None


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as the store keeps it: the alert as sinks see it (``alert``, a JSON-ready
    dict of :class:`seismo.alerts.model.Alert`'s fields) plus its handling."""

    id: str
    rule: str
    model: str
    segment: str
    state: str  # "firing" or "resolved"
    severity: str
    started_at: datetime
    updated_at: datetime
    alert: dict[str, Any]
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    notified_at: datetime | None = None  # last trigger notification sent
    notified_severity: str | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One entry of an alert's history: fired, updated, resolved, acknowledged, silenced,
    delivered, delivery_failed ... ``details`` is JSON-ready."""

    alert_id: str
    kind: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # assigned by the store


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts whose fields equal every matcher (rule, model, segment, severity) are recorded
    but not notified between ``starts_at`` and ``ends_at``."""

    id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime

    def matches(self, fields: dict[str, str], at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at and all(
            fields.get(key) == value for key, value in self.matchers.items()
        )


@dataclass(frozen=True, slots=True)
class MonitorError:
    """A window the monitor could not build: kept until a later run builds it (every run
    retries it), so a failure is never silent and never stops the other windows."""

    model: str
    version: int
    start: datetime  # the window's start
    message: str
    at: datetime  # when it last failed


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token as the store keeps it: its name and scopes, never the token itself (only
    its SHA-256 digest is stored)."""

    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class UiSession:
    """A browser's session of the web UI: kept under the SHA-256 digest of its cookie, tied
    to the digest of the token it signed in with (None while the service has no tokens),
    with the CSRF token its forms carry."""

    id_hash: str
    token_hash: str | None
    csrf: str
    created_at: datetime
    expires_at: datetime


class StoreError(SeismoError):
    """The store could not do what was asked (database down, conflict, bad state)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached; writes were not made durable. The API answers 503."""


class DuplicatePrediction(StoreError):
    """A prediction id already exists; the message names it."""


class SchemaOutdated(StoreError):
    """The database schema is older than this seismo; the message says which command upgrades."""


class Store(abc.ABC):
    """Persistent state of the service and the monitor."""

    # -- models -----------------------------------------------------------------------------
    @abc.abstractmethod
    def add_model_version(
        self,
        model: str,
        *,
        task: str,
        reference: bytes,
        artifact: str | None = None,
        classes: Sequence[str] = (),
        features: Sequence[str] = (),
        description: str = "",
        parent_version: int | None = None,
        status: str = "registered",
        lineage: dict[str, JSON] | None = None,
    ) -> ModelVersion:
        """Register the next version of ``model`` (1 for a new model) and return it."""

    @abc.abstractmethod
    def update_model_version(
        self,
        model: str,
        version: int,
        *,
        status: str | None = None,
        lineage: dict[str, JSON] | None = None,
    ) -> ModelVersion:
        """Set a version's status and merge ``lineage`` into its lineage (top-level keys
        replaced); KeyError when the version does not exist."""

    # -- rollouts and decisions ----------------------------------------------------------
    @abc.abstractmethod
    def get_rollout(self, model: str) -> Rollout | None:
        """The model's rollout; None when none was ever set (the latest version serves)."""

    @abc.abstractmethod
    def set_rollout(self, rollout: Rollout, *, expected: Rollout | None = None) -> bool:
        """Replace the model's rollout. With ``expected``, only if the stored one still has
        its champion, challenger and mode (compare-and-set); False when it changed."""

    @abc.abstractmethod
    def add_decision(self, decision: Decision) -> Decision:
        """Record a decision; returns it with its ``seq``."""

    @abc.abstractmethod
    def list_decisions(
        self, model: str | None = None, *, kind: str | None = None, limit: int = 100
    ) -> list[Decision]:
        """The most recent decisions first (of one model and kind, or all)."""

    @abc.abstractmethod
    def get_model_version(self, model: str, version: int | None = None) -> ModelVersion | None:
        """The given version, or the latest when ``version`` is None; None if there is none."""

    @abc.abstractmethod
    def list_model_versions(self, model: str | None = None) -> list[ModelVersion]:
        """All versions (of one model, or of all), ordered by model name then version."""

    # -- predictions ------------------------------------------------------------------------
    @abc.abstractmethod
    def add_predictions(self, predictions: Sequence[Prediction]) -> None:
        """Store the predictions in one transaction; durable when this returns.

        All or nothing: a duplicate id raises :class:`DuplicatePrediction` and stores none.
        An unreachable database raises :class:`StoreUnavailable`.
        """

    @abc.abstractmethod
    def get_prediction(
        self, prediction_id: str, *, model: str | None = None
    ) -> StoredPrediction | None:
        """The prediction with this id (of ``model``: ids are unique per model, and another
        model may use the same id; without ``model``, the first one logged)."""

    @abc.abstractmethod
    def iter_predictions(
        self,
        model: str,
        *,
        version: int | None = None,
        after_seq: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredPrediction]]:
        """Predictions of a model in batches, ascending by ``seq``, with their current labels.

        ``after_seq`` resumes after a watermark; ``start``/``end`` select by prediction
        timestamp (start inclusive, end exclusive). Memory stays bounded by ``batch_size``.
        Rows become visible in ``seq`` order (no row commits later with a lower ``seq`` than
        one already visible), so resuming after the last ``seq`` seen never skips a row.
        """

    @abc.abstractmethod
    def read_window(
        self, model: str, *, version: int, start: datetime, end: datetime
    ) -> WindowData:
        """The predictions of one version with ``start <= timestamp < end`` as columns, with
        their current labels: what the monitor reads to rebuild a window, without building
        one object per row."""

    @abc.abstractmethod
    def count_predictions(self, model: str, version: int | None = None) -> int: ...

    @abc.abstractmethod
    def compact_predictions(self, model: str, before: datetime) -> int:
        """Move a model's predictions with ``timestamp < before`` that were written a few at a
        time (JSON text per row) into columnar batches, per version, so that reading their
        windows again is as fast as reading rows written in bulk; return how many moved.

        Values read back as a batch's would (see :mod:`seismo.store.columnar`); labels,
        sequence numbers and ids do not change. A :data:`COMPACTION_JOB` watermark keeps the
        cost of a call to the rows that arrived since the last one.
        """

    @abc.abstractmethod
    def delete_predictions(self, model: str, before: datetime) -> int:
        """Retention: delete a model's predictions with ``timestamp < before`` (their labels and
        label changes with them) and return how many there were.

        The horizon is recorded first, then rows go in short transactions of a bounded number
        of rows, so writers are never held up for long; a prune cut short leaves the rest for
        the next one, and the monitor already leaves the horizon's windows alone.

        Window summaries stay: they are the monitoring history. ``before`` becomes the model's
        retention horizon (:data:`RETENTION_JOB` watermark, in Unix seconds; it only moves
        forward), which the monitor reads to leave windows before it alone: their rows are
        gone, so rebuilding one from what arrives later would shrink its summary.
        """

    @abc.abstractmethod
    def prediction_windows(
        self, model: str, *, after_seq: int, window_seconds: int
    ) -> tuple[set[tuple[int, datetime]], int, int]:
        """The (version, window start) pairs of a model's predictions after ``after_seq``, the
        largest ``seq`` among them (``after_seq`` when there are none), and their number.

        Windows are aligned to the Unix epoch (timestamps after 1970). Computed in the database
        without reading features, so finding what a monitor run must rebuild costs little.
        """

    # -- labels -----------------------------------------------------------------------------
    @abc.abstractmethod
    def add_labels(self, labels: Sequence[Label], *, model: str | None = None) -> LabelOutcome:
        """Attach ground truth to predictions, in one transaction.

        Re-sending the same label changes nothing (``unchanged``); a different label for the
        same prediction replaces the earlier one (``updated``); ids that match no prediction
        (of ``model``, when given: another model's prediction is not this model's to label) are
        returned in ``unknown_ids`` and nothing is stored for them. Every insert or update
        appends to the label change log. Labels of one batch apply in order; a null label is
        refused with ValueError.
        """

    @abc.abstractmethod
    def iter_label_changes(self, model: str, *, after_seq: int = 0) -> Iterator[LabelChange]:
        """The label change log of a model after a watermark, ascending by ``seq``."""

    # -- monitor state ----------------------------------------------------------------------
    @abc.abstractmethod
    def put_window(self, summary: WindowSummary) -> None:
        """Insert or replace the summary for (model, version, start, end, segment)."""

    @abc.abstractmethod
    def put_windows(
        self,
        summaries: Sequence[WindowSummary],
        *,
        watermarks: Sequence[tuple[str, str, int]] = (),
        errors: Sequence[MonitorError] = (),
        cleared: Sequence[tuple[str, int, datetime]] = (),
    ) -> None:
        """Insert or replace several summaries and set ``watermarks`` (job, model, seq), all
        in one transaction: one durable commit for a whole monitor run, and readers never see
        some segments of a window rebuilt and others not. Of two summaries with the same key
        the last wins. In the same transaction, ``errors`` are recorded (replacing an earlier
        error of the same window) and the errors of the ``cleared`` windows (model, version,
        start) are dropped.
        """

    @abc.abstractmethod
    def list_monitor_errors(self, model: str | None = None) -> list[MonitorError]:
        """The windows that failed to build and have not been built since, by model and
        window start."""

    @abc.abstractmethod
    def get_windows(
        self,
        model: str,
        *,
        version: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[WindowSummary]:
        """Summaries whose window starts in [start, end), ordered by start then segment."""

    @abc.abstractmethod
    def latest_windows(
        self,
        model: str,
        *,
        limit: int = 1,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[WindowSummary]:
        """The ``limit`` most recent windows of each (version, segment) of ``model`` — those
        whose window ends at or before ``end``, when given — ordered as :meth:`get_windows`.
        Its cost depends on ``limit`` and the number of segments, not on the history."""

    @abc.abstractmethod
    def window_digests(
        self,
        model: str,
        *,
        version: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
        latest: int | None = None,
    ) -> list[WindowDigest]:
        """The digests of the windows :meth:`get_windows` would return (``latest``: of the
        ``latest`` most recent windows of each version and segment, as :meth:`latest_windows`),
        without reading their payloads."""

    @abc.abstractmethod
    def window_extent(self, model: str) -> dict[str, tuple[datetime, datetime]]:
        """The first and last window start of each segment of ``model`` ("" for the whole
        windows), reading no payload or digest."""

    @abc.abstractmethod
    def put_window_digests(self, digests: Sequence[WindowDigest]) -> int:
        """Store digests computed after their windows were written; a digest is kept only
        while its window's ``updated_at`` is the one given (a window rewritten since keeps
        what its writer stored). Returns how many were stored."""

    @abc.abstractmethod
    def get_watermark(self, job: str, model: str) -> int:
        """The last sequence number a job processed for a model (0 when never run)."""

    @abc.abstractmethod
    def set_watermark(self, job: str, model: str, seq: int) -> None: ...

    # -- alerts -----------------------------------------------------------------------------
    @abc.abstractmethod
    def put_alert(self, alert: StoredAlert, events: Sequence[AlertEvent] = ()) -> None:
        """Insert or replace an alert and append events to its history, in one transaction."""

    @abc.abstractmethod
    def add_alert_events(self, events: Sequence[AlertEvent]) -> None: ...

    @abc.abstractmethod
    def get_alert(self, alert_id: str) -> StoredAlert | None: ...

    @abc.abstractmethod
    def list_alerts(
        self, *, state: str | None = None, model: str | None = None, limit: int = 1000
    ) -> list[StoredAlert]:
        """Alerts, most recently updated first."""

    @abc.abstractmethod
    def list_alert_events(
        self, *, alert_id: str | None = None, kind: str | None = None, limit: int = 1000
    ) -> list[AlertEvent]:
        """History entries, newest first."""

    @abc.abstractmethod
    def count_alert_events(self, kind: str) -> dict[tuple[str, str], int]:
        """Events of ``kind`` counted by (details["sink"], details["event"])."""

    @abc.abstractmethod
    def add_silence(self, silence: Silence) -> None: ...

    @abc.abstractmethod
    def list_silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        """Silences (only those active at ``active_at`` when given), newest first."""

    @abc.abstractmethod
    def end_silence(self, silence_id: str, at: datetime) -> bool:
        """End a silence now; False when there is no such silence."""

    # -- lifecycle --------------------------------------------------------------------------
    @abc.abstractmethod
    def check(self) -> None:
        """Raise StoreUnavailable if the database cannot be reached, SchemaOutdated if its
        schema is not at this seismo's migration head."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # -- access ------------------------------------------------------------------------------
    @abc.abstractmethod
    def add_token(
        self, name: str, token_hash: str, scopes: Sequence[str], *, at: datetime
    ) -> ApiToken:
        """Store a token's digest under ``name``. A revoked token's name may be reused; an
        active one's raises ValueError (revoke it first)."""

    @abc.abstractmethod
    def list_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones included, by name."""

    @abc.abstractmethod
    def find_token(self, token_hash: str) -> ApiToken | None:
        """The token with this digest (revoked or not), or None."""

    @abc.abstractmethod
    def revoke_token(self, name: str, *, at: datetime) -> bool:
        """Revoke the named token; False when no active token has that name."""

    @abc.abstractmethod
    def add_ui_session(self, session: UiSession, *, purge_before: datetime) -> None:
        """Keep a new UI session, dropping the sessions that expired before ``purge_before``."""

    @abc.abstractmethod
    def get_ui_session(self, id_hash: str) -> UiSession | None:
        """The UI session kept under ``id_hash`` (expired or not), or None."""

    @abc.abstractmethod
    def end_ui_session(self, id_hash: str) -> bool:
        """Forget a UI session (sign-out); whether it existed."""

    @abc.abstractmethod
    def acquire_lease(self, name: str, holder: str, *, until: datetime, now: datetime) -> bool:
        """Take or renew the lease ``name`` for ``holder`` until ``until``: True when it is
        free, expired at ``now`` or already held by ``holder``; False when another holder has
        it. Two callers racing for a free lease: exactly one gets it."""

    @abc.abstractmethod
    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up (nothing happens when ``holder`` does not hold it)."""
