"""A window has no target column (labels arrive apart from the features): that is never a
pipeline error. Found by the closed-loop demo, where every alert was blamed on a 'missing'
target column and no retrain could ever fire."""

from __future__ import annotations

import pandas as pd
import pytest

import seismo
from seismo.examples.flights import flights
from seismo.loop.diagnosis import diagnose_profiles


@pytest.mark.parametrize("role", ["target", "feature"])
def test_a_missing_target_is_not_a_schema_change(role: str) -> None:
    frame = flights(3).to_pandas()[["dep_delay", "distance", "carrier", "arr_delay"]].dropna()
    frame["late"] = (frame["arr_delay"] > 15).astype(int)
    frame = frame.drop(columns="arr_delay").sample(frac=1.0, random_state=0)
    schema = {"columns": {"late": {"role": role, "kind": "categorical"}}}
    reference = seismo.fit_reference(frame.iloc[: len(frame) // 2], schema)
    current = frame.iloc[len(frame) // 2 :].drop(columns="late")
    profile = seismo.profile(reference, pd.DataFrame(current))
    diagnosis = diagnose_profiles(reference, profile)
    kinds = [(f.kind, f.columns) for f in diagnosis.findings]
    if role == "target":
        assert diagnosis.cause.value == "none", kinds
    else:  # a feature that disappears is a broken pipeline
        assert ("schema_change", ("late",)) in kinds
        assert diagnosis.cause.value == "pipeline_error"
