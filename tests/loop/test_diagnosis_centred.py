"""Standardised columns (centred near 0, as scikit-learn's diabetes data): a column scaled
by an order of magnitude upstream is a pipeline error, not drift. Found by trying the
diagnosis on a dataset no test was written around: ``bmi`` × 100 was called covariate drift."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes

import seismo


@pytest.mark.parametrize("column", ["bmi", "s5", "age", "bp"])
@pytest.mark.parametrize("factor", [100.0, 10.0, 0.01])
def test_a_rescaled_standardised_column_is_a_pipeline_error(column: str, factor: float) -> None:
    frame = load_diabetes(as_frame=True).frame.sample(frac=1.0, random_state=1)
    reference, current = frame.iloc[: len(frame) // 2], frame.iloc[len(frame) // 2 :].copy()
    assert seismo.diagnose(reference, current).cause.value == "none"
    current[column] = current[column] * factor
    diagnosis = seismo.diagnose(reference, current)
    assert diagnosis.cause.value == "pipeline_error", diagnosis.summary
    assert diagnosis.findings[0].kind == "unit_change"
    assert diagnosis.findings[0].columns == (column,)
