"""Whatever two tables look like, a diagnosis comes back: one of the five causes, its action,
a confidence in [0, 1], and JSON that parses (empty, constant, all-missing, infinite, tiny and
mixed columns included; with labels and a time column or without)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seismo
from seismo.loop import Action, Cause

VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([0.0, 1.0, -1.0, 9999.0]),
)


@st.composite
def frames(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object] | None]:
    rows = draw(st.integers(min_value=1, max_value=120))
    current_rows = draw(st.integers(min_value=1, max_value=120))
    reference: dict[str, object] = {}
    current: dict[str, object] = {}
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["number", "text", "constant", "missing"]))
        if kind == "number":
            ref = draw(st.lists(VALUES, min_size=rows, max_size=rows))
            cur = draw(st.lists(VALUES, min_size=current_rows, max_size=current_rows))
        elif kind == "text":
            alphabet = st.sampled_from(["a", "b", "c", "x", "", "9"])
            ref = draw(st.lists(alphabet, min_size=rows, max_size=rows))
            cur = draw(st.lists(alphabet, min_size=current_rows, max_size=current_rows))
        elif kind == "constant":
            ref, cur = [1.5] * rows, [draw(VALUES)] * current_rows
        else:
            ref, cur = [None] * rows, [None] * current_rows
        reference[f"c{index}"] = ref
        if draw(st.booleans()) or index == 0:
            current[f"c{index}"] = cur
    roles: dict[str, object] = {}
    if draw(st.booleans()):  # labels (in the current table or not), and a time column
        labels = st.sampled_from(["yes", "no", None])
        reference["y"] = draw(st.lists(labels, min_size=rows, max_size=rows))
        if draw(st.booleans()):
            current["y"] = draw(st.lists(labels, min_size=current_rows, max_size=current_rows))
        start = np.datetime64("2026-01-01T00:00")
        reference["t"] = start + np.arange(rows).astype("timedelta64[h]")
        current["t"] = start + np.asarray(
            draw(st.lists(st.integers(0, 500), min_size=current_rows, max_size=current_rows))
        ).astype("timedelta64[h]")
        roles = {"y": {"role": "target", "kind": "categorical"}, "t": {"role": "timestamp"}}
    return pd.DataFrame(reference), pd.DataFrame(current), {"columns": roles} if roles else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_any_pair_of_tables_gets_a_diagnosis(
    pair: tuple[pd.DataFrame, pd.DataFrame, dict[str, object] | None],
) -> None:
    reference, current, schema = pair
    try:
        diagnosis = seismo.diagnose(reference, current, schema)
    except seismo.InputError:
        return  # refused as bad input, with a message: also a right answer
    assert diagnosis.cause in set(Cause) and diagnosis.action in set(Action)
    assert 0.0 <= diagnosis.confidence <= 1.0
    document = json.loads(diagnosis.to_json())
    assert document["cause"] == diagnosis.cause.value
    for finding in document["findings"]:
        assert finding["summary"] and finding["columns"]
        assert np.all([isinstance(c, str) for c in finding["columns"]])
