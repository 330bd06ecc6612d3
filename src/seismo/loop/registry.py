"""The model registry's operations: which version serves, rollouts, promotion and rollback.

The store keeps the versions (with lineage and status), one rollout per model and an
append-only log of decisions; this module is the one place that changes them together, so a
promotion always retires the old champion, records who did it and why, and is notified.

A model whose rollout was never set is served by its latest version (what ``seismo register``
has always meant); registering by hand sets the new version as champion, while a retrain
registers a *candidate* that serves nobody until it is validated and rolled out.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from seismo.errors import InputError
from seismo.store.base import JSON, Decision, ModelVersion, Rollout, Store

log = logging.getLogger(__name__)

#: Called with every recorded decision (the service passes one that notifies the sinks).
Notify = Callable[[Decision], None]


def serving(store: Store, model: str) -> Rollout:
    """The model's rollout: its champion, and the challenger beside it if any."""
    rollout = store.get_rollout(model)
    if rollout is not None:
        return rollout
    versions = store.list_model_versions(model)
    if not versions:
        raise InputError(f"no model named {model!r}; register it first (seismo register)")
    # Never set: the latest version registered by hand (a retrained candidate serves nobody).
    served = [v for v in versions if v.status in ("registered", "champion")] or versions
    return Rollout(model, champion=served[-1].version)


def routes_to_challenger(rollout: Rollout, key: str) -> bool:
    """Whether a canary sends the request with ``key`` to the challenger: a hash of the model
    and the key, so the same key always gets the same version, in every process."""
    if rollout.mode != "canary" or rollout.challenger is None:
        return False
    digest = hashlib.sha256(f"{rollout.model}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rollout.share


def record(
    store: Store,
    model: str,
    kind: str,
    outcome: str,
    summary: str,
    *,
    version: int | None = None,
    actor: str = "seismo",
    evidence: dict[str, JSON] | None = None,
    at: datetime | None = None,
    notify: Notify | None = None,
) -> Decision:
    """Record one decision of the loop (and notify it)."""
    decision = store.add_decision(
        Decision(
            model=model,
            kind=kind,
            outcome=outcome,
            summary=summary,
            at=at or datetime.now(UTC),
            actor=actor,
            version=version,
            evidence=dict(evidence or {}),
        )
    )
    log.info("%s %s: %s (%s)", model, kind, outcome, summary)
    if notify is not None:
        try:
            notify(decision)
        except Exception:  # a notification never undoes a decision
            log.exception("notifying decision %s of %s failed", decision.seq, model)
    return decision


def _version(store: Store, model: str, version: int) -> ModelVersion:
    found = store.get_model_version(model, version)
    if found is None:
        known = [v.version for v in store.list_model_versions(model)]
        if not known:
            raise InputError(f"no model named {model!r}; register it first (seismo register)")
        raise InputError(f"model {model!r} has no version {version}; its versions: {known}")
    return found


def start_rollout(
    store: Store,
    model: str,
    version: int,
    *,
    mode: str = "canary",
    share: float = 0.2,
    actor: str = "seismo",
    reason: str = "",
    evidence: dict[str, JSON] | None = None,
    notify: Notify | None = None,
) -> Rollout:
    """Put ``version`` beside the champion as a canary (``share`` of traffic) or a shadow."""
    if mode not in ("canary", "shadow"):
        raise InputError(f"mode: use 'canary' or 'shadow' (got {mode!r})")
    if not 0 < share <= 1:
        raise InputError(f"share: a canary answers a share in (0, 1] of traffic, not {share}")
    candidate = _version(store, model, version)
    if candidate.artifact is None:
        raise InputError(
            f"model {model!r} version {version} is served elsewhere; only a hosted version "
            "can be rolled out by seismo"
        )
    current = serving(store, model)
    if current.champion == version:
        raise InputError(f"version {version} of {model!r} is already the champion")
    if current.challenger is not None:
        raise InputError(
            f"model {model!r} already has version {current.challenger} in {current.mode}; "
            "promote or roll it back first"
        )
    now = datetime.now(UTC)
    rollout = Rollout(
        model,
        champion=current.champion,
        challenger=version,
        mode=mode,
        share=share if mode == "canary" else 0.0,
        started_at=now,
    )
    if not store.set_rollout(rollout, expected=current if store.get_rollout(model) else None):
        raise InputError(f"the rollout of {model!r} changed meanwhile; look again and retry")
    store.update_model_version(model, version, status="challenger")
    what = f"{share:.0%} canary" if mode == "canary" else "shadow"
    record(
        store,
        model,
        "rollout",
        "started",
        f"version {version} rolled out as {what} beside champion v{current.champion}"
        + (f": {reason}" if reason else ""),
        version=version,
        actor=actor,
        evidence={"mode": mode, "share": rollout.share, **(evidence or {})},
        notify=notify,
    )
    return rollout


def promote(
    store: Store,
    model: str,
    version: int,
    *,
    actor: str = "seismo",
    reason: str = "",
    evidence: dict[str, JSON] | None = None,
    notify: Notify | None = None,
) -> Rollout:
    """Make ``version`` the champion (ending any rollout) and retire the previous one."""
    promoted = _version(store, model, version)
    if promoted.artifact is None and store.get_rollout(model) is not None:
        log.info("promoting %s v%d, a version served elsewhere", model, version)
    current = serving(store, model)
    if current.champion == version and current.challenger is None:
        raise InputError(f"version {version} of {model!r} is already the champion")
    now = datetime.now(UTC)
    rollout = Rollout(model, champion=version, started_at=None)
    if not store.set_rollout(rollout, expected=current if store.get_rollout(model) else None):
        raise InputError(f"the rollout of {model!r} changed meanwhile; look again and retry")
    if current.champion != version:
        store.update_model_version(model, current.champion, status="retired")
    if current.challenger is not None and current.challenger != version:
        store.update_model_version(model, current.challenger, status="rolled_back")
    lineage: dict[str, JSON] = {
        "promoted": {
            "at": now.isoformat(),
            "by": actor,
            "reason": reason,
            "replaced": current.champion,
        }
    }
    store.update_model_version(model, version, status="champion", lineage=lineage)
    record(
        store,
        model,
        "promotion",
        "promoted",
        f"version {version} promoted to champion (was v{current.champion})"
        + (f": {reason}" if reason else ""),
        version=version,
        actor=actor,
        evidence={"previous_champion": current.champion, **(evidence or {})},
        at=now,
        notify=notify,
    )
    return rollout


def rollback(
    store: Store,
    model: str,
    *,
    actor: str = "seismo",
    reason: str = "",
    evidence: dict[str, JSON] | None = None,
    notify: Notify | None = None,
) -> Rollout:
    """Undo the last step: end a canary or shadow (the champion keeps serving), or, with no
    rollout under way, give the traffic back to the champion this one replaced."""
    current = serving(store, model)
    if current.challenger is not None:
        rollout = Rollout(model, champion=current.champion)
        if not store.set_rollout(rollout, expected=current):
            raise InputError(f"the rollout of {model!r} changed meanwhile; look again and retry")
        store.update_model_version(model, current.challenger, status="rolled_back")
        record(
            store,
            model,
            "rollback",
            "rolled_back",
            f"{current.mode} of version {current.challenger} rolled back; champion "
            f"v{current.champion} serves all traffic" + (f": {reason}" if reason else ""),
            version=current.challenger,
            actor=actor,
            evidence={"champion": current.champion, "mode": current.mode, **(evidence or {})},
            notify=notify,
        )
        return rollout
    champion = _version(store, model, current.champion)
    previous = _previous_champion(champion)
    if previous is None:
        raise InputError(
            f"model {model!r}: nothing to roll back (no rollout under way, and version "
            f"{champion.version} replaced no earlier champion)"
        )
    _version(store, model, previous)
    rollout = Rollout(model, champion=previous)
    stored = store.get_rollout(model)
    if not store.set_rollout(rollout, expected=current if stored else None):
        raise InputError(f"the rollout of {model!r} changed meanwhile; look again and retry")
    store.update_model_version(model, champion.version, status="rolled_back")
    store.update_model_version(model, previous, status="champion")
    record(
        store,
        model,
        "rollback",
        "rolled_back",
        f"champion v{champion.version} rolled back to v{previous}"
        + (f": {reason}" if reason else ""),
        version=champion.version,
        actor=actor,
        evidence={"restored": previous, **(evidence or {})},
        notify=notify,
    )
    return rollout


def _previous_champion(version: ModelVersion) -> int | None:
    promoted: Any = version.lineage.get("promoted")
    if isinstance(promoted, dict) and isinstance(promoted.get("replaced"), int):
        return int(promoted["replaced"])
    return None


def registered_by_hand(store: Store, version: ModelVersion) -> None:
    """A version registered by ``seismo register`` serves at once: with a rollout set, it
    becomes the champion (ending any canary or shadow) and the previous champion is retired;
    without one, the latest version registered by hand serves anyway."""
    current = store.get_rollout(version.model)
    if current is None:
        return
    store.set_rollout(Rollout(version.model, champion=version.version))
    if current.challenger is not None:
        store.update_model_version(version.model, current.challenger, status="rolled_back")
    store.update_model_version(version.model, current.champion, status="retired")
    record(
        store,
        version.model,
        "promotion",
        "promoted",
        f"version {version.version} registered by hand and serving (was v{current.champion})",
        version=version.version,
        actor="seismo register",
        evidence={"previous_champion": current.champion},
    )
