"""The registry's operations: which version serves, canary routing, promotion and rollback,
each recorded with who, why and the evidence."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest
from scipy import stats

import seismo
from seismo.errors import InputError
from seismo.loop import registry
from seismo.loop.models import register_model
from seismo.store import Rollout, Store, open_store
from tests.service.conftest import fitted_pipeline, training_frame


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}", upgrade=True)
    yield opened  # type: ignore[misc]
    opened.close()


def _served(store: Store) -> tuple[int, int | None, str | None]:
    rollout = registry.serving(store, "cancer")
    return rollout.champion, rollout.challenger, rollout.mode


def _register(store: Store, tmp_path: Path, status: str = "registered", **kwargs: object) -> int:
    path = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline(), path)
    reference = seismo.fit_reference(
        training_frame(), {"columns": {"malignant": {"role": "target"}}}
    )
    version = register_model(
        store,
        "cancer",
        reference=reference,
        model_file=path,
        models_dir=tmp_path / "models",
        status=status,
        training_data=training_frame(),
        **kwargs,  # type: ignore[arg-type]
    )
    return version.version


def test_a_candidate_serves_nobody_until_rolled_out(store: Store, tmp_path: Path) -> None:
    _register(store, tmp_path)
    _register(store, tmp_path, status="candidate", parent_version=1)
    assert registry.serving(store, "cancer") == Rollout("cancer", champion=1)
    sample = store.get_model_version("cancer", 1)
    assert sample is not None and sample.lineage["training_sample"]["rows"] == 600
    assert len(sample.lineage["profile_sha256"]) == 64


def test_canary_promote_and_rollback_are_recorded(store: Store, tmp_path: Path) -> None:
    _register(store, tmp_path)
    _register(store, tmp_path, status="candidate", parent_version=1)
    registry.start_rollout(store, "cancer", 2, mode="canary", share=0.25, actor="ci", reason="t")
    rollout = registry.serving(store, "cancer")
    assert (rollout.champion, rollout.challenger, rollout.mode, rollout.share) == (
        1,
        2,
        "canary",
        0.25,
    )
    with pytest.raises(InputError, match="already has version 2 in canary"):
        registry.start_rollout(store, "cancer", 2)
    registry.promote(store, "cancer", 2, actor="ci", reason="better", evidence={"p": 0.01})
    assert _served(store) == (2, None, None)
    statuses = {v.version: v.status for v in store.list_model_versions("cancer")}
    assert statuses == {1: "retired", 2: "champion"}
    promoted = store.get_model_version("cancer", 2)
    assert promoted is not None and promoted.lineage["promoted"]["by"] == "ci"
    assert promoted.lineage["promoted"]["replaced"] == 1
    # With no rollout under way, a rollback gives the traffic back to the replaced champion.
    registry.rollback(store, "cancer", actor="ops", reason="complaints")
    assert registry.serving(store, "cancer").champion == 1
    decisions = store.list_decisions("cancer")
    assert [(d.kind, d.outcome, d.actor) for d in decisions] == [
        ("rollback", "rolled_back", "ops"),
        ("promotion", "promoted", "ci"),
        ("rollout", "started", "ci"),
    ]
    assert decisions[1].evidence == {"previous_champion": 1, "p": 0.01}
    with pytest.raises(InputError, match="nothing to roll back"):
        registry.rollback(store, "cancer")


def test_rolling_back_a_canary_keeps_the_champion(store: Store, tmp_path: Path) -> None:
    _register(store, tmp_path)
    _register(store, tmp_path, status="candidate")
    registry.start_rollout(store, "cancer", 2, mode="shadow")
    assert registry.serving(store, "cancer").share == 0.0
    registry.rollback(store, "cancer", reason="worse")
    assert registry.serving(store, "cancer").challenger is None
    version = store.get_model_version("cancer", 2)
    assert version is not None and version.status == "rolled_back"


def test_registering_by_hand_serves_at_once_and_ends_a_rollout(
    store: Store, tmp_path: Path
) -> None:
    _register(store, tmp_path)
    _register(store, tmp_path, status="candidate")
    registry.start_rollout(store, "cancer", 2)
    _register(store, tmp_path)
    assert _served(store) == (3, None, None)
    statuses = {v.version: v.status for v in store.list_model_versions("cancer")}
    assert statuses == {1: "retired", 2: "rolled_back", 3: "registered"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: registry.start_rollout(s, "cancer", 9), "has no version 9"),
        (lambda s: registry.start_rollout(s, "cancer", 1), "already the champion"),
        (lambda s: registry.start_rollout(s, "cancer", 2, mode="blue"), "mode"),
        (lambda s: registry.start_rollout(s, "cancer", 2, share=0), "share"),
        (lambda s: registry.promote(s, "cancer", 1), "already the champion"),
        (lambda s: registry.promote(s, "nope", 1), "no model named 'nope'"),
    ],
)
def test_refusals_say_why(store: Store, tmp_path: Path, call: object, message: str) -> None:
    _register(store, tmp_path)
    _register(store, tmp_path, status="candidate")
    with pytest.raises(InputError, match=message):
        call(store)  # type: ignore[operator]


def test_canary_routing_is_sticky_and_takes_its_share() -> None:
    rollout = Rollout("cancer", champion=1, challenger=2, mode="canary", share=0.3)
    keys = [f"tail-{i}" for i in range(20_000)]
    first = [registry.routes_to_challenger(rollout, key) for key in keys]
    again = [registry.routes_to_challenger(rollout, key) for key in keys]
    assert first == again
    routed = sum(first)
    # Binomial(20000, 0.3): a two-sided test at 0.001 never fails by chance in practice.
    assert stats.binomtest(routed, len(keys), 0.3).pvalue > 0.001
    # Another model splits the same keys independently.
    other = Rollout("other", champion=1, challenger=2, mode="canary", share=0.3)
    overlap = sum(
        a and registry.routes_to_challenger(other, k) for a, k in zip(first, keys, strict=True)
    )
    assert stats.binomtest(overlap, routed, 0.3).pvalue > 0.001
    shadow = Rollout("cancer", champion=1, challenger=2, mode="shadow")
    assert not any(registry.routes_to_challenger(shadow, key) for key in keys[:100])
