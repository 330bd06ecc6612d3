from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.schema.types import Kind, Role


def _kinds(frame: pd.DataFrame) -> dict[str, Kind]:
    reference = seismo.fit_reference(frame)
    return {column.name: column.kind for column in reference.schema}


def test_kinds_are_inferred_from_the_data() -> None:
    rng = np.random.default_rng(0)
    rows = 500
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(10, 1, rows),
            "children": rng.poisson(1.2, rows),
            "is_member": rng.random(rows) < 0.3,
            "clicked": (rng.random(rows) < 0.5).astype(int),
            "city": rng.choice(["paris", "lyon", "nice"], rows),
            "signup": pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC"),
            "user_id": np.arange(rows),
            "session": [f"s-{i:08x}" for i in rng.permutation(rows)],
            "comment": [f"the customer said thing number {i} about it" for i in range(rows)],
            "amount_text": [str(round(v, 2)) for v in rng.normal(50, 5, rows)],
        }
    )
    assert _kinds(frame) == {
        "income": Kind.NUMERIC,
        "children": Kind.NUMERIC,
        "is_member": Kind.BOOLEAN,
        "clicked": Kind.BOOLEAN,
        "city": Kind.CATEGORICAL,
        "signup": Kind.DATETIME,
        "user_id": Kind.ID,
        "session": Kind.ID,
        "comment": Kind.TEXT,
        "amount_text": Kind.NUMERIC,
    }


def test_identifiers_get_the_id_role_and_are_not_tested() -> None:
    rows = 300
    frame = pd.DataFrame({"user_id": np.arange(rows), "x": np.linspace(0, 1, rows)})
    report = seismo.compare(frame, frame)
    assert report["user_id"].role is Role.ID
    assert not report["user_id"].tested
    assert report["user_id"].reason is not None and "role id" in report["user_id"].reason


def test_overrides_from_python_win_over_inference() -> None:
    rows = 200
    frame = pd.DataFrame({"grade": np.arange(rows) % 5, "y": np.arange(rows) % 2})
    schema = {"columns": {"grade": "categorical", "y": {"role": "target"}}}
    reference = seismo.fit_reference(frame, schema)
    assert reference.schema["grade"].kind is Kind.CATEGORICAL
    assert reference.schema["grade"].role is Role.FEATURE
    assert reference.schema["y"].role is Role.TARGET
    assert reference.schema["y"].kind is Kind.BOOLEAN
    grid = reference.profile.columns["grade"].grid
    assert sorted(grid.categories) == ["0", "1", "2", "3", "4"]  # type: ignore[union-attr]


def test_ignored_columns_are_not_read() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "blob": [{"a": 1}, {"b": 2}, {"c": 3}]})
    reference = seismo.fit_reference(frame, {"columns": {"blob": {"role": "ignore"}}})
    assert "blob" not in reference.profile.columns


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"columns": {"x": "numbr"}}, "unknown kind 'numbr'; use one of: numeric"),
        ({"columns": {"x": {"role": "label"}}}, "unknown role 'label'"),
        ({"columns": {"x": {"kind": "numeric", "weight": 2}}}, "unknown key(s) ['weight']"),
        ({"cols": {}}, "unknown top-level key(s) ['cols']"),
        ({"columns": {"nope": "numeric"}}, "schema: names column(s) ['nope']"),
    ],
)
def test_bad_schemas_name_the_field(schema: dict[str, object], message: str) -> None:
    with pytest.raises(seismo.SchemaError) as caught:
        seismo.fit_reference(pd.DataFrame({"x": [1.0, 2.0]}), schema)
    assert message in str(caught.value)


def test_declared_categories_leading_zero_codes_and_iso_dates() -> None:
    """The issue's rules: a categorical type wins over digit-like values, codes with a leading
    zero are labels, ISO date and datetime text is a datetime, and a schema still overrides."""
    rng = np.random.default_rng(1)
    rows = 2000
    digits = rng.choice([str(i) for i in range(25)], rows)
    frame = pd.DataFrame(
        {
            "education": pd.Series(digits, dtype="category"),
            "grade": pd.Series(rng.integers(1, 6, rows), dtype="category"),
            "digits_as_text": digits,
            "zip": rng.choice(["02139", "00501", "10001", "94105"], rows),
            "day": rng.choice(pd.date_range("2011-01-01", periods=60).strftime("%Y-%m-%d"), rows),
            "stamp": [
                f"2011-01-01T{h:02d}:{m:02d}:00Z"
                for h, m in zip(rng.integers(0, 24, rows), rng.integers(0, 60, rows), strict=True)
            ],
        }
    )
    assert _kinds(frame) == {
        "education": Kind.CATEGORICAL,
        "grade": Kind.CATEGORICAL,
        "digits_as_text": Kind.NUMERIC,
        "zip": Kind.CATEGORICAL,
        "day": Kind.DATETIME,
        "stamp": Kind.DATETIME,
    }
    overridden = seismo.fit_reference(frame, {"columns": {"education": "numeric"}})
    assert overridden.schema["education"].kind is Kind.NUMERIC
    education = overridden.profile.columns["education"]
    assert education.mean == pytest.approx(digits.astype(float).mean())  # type: ignore[union-attr]
    day = seismo.fit_reference(frame).profile.columns["day"]
    assert day.minimum == pd.Timestamp("2011-01-01", tz="UTC").timestamp()  # type: ignore[union-attr]


def test_amounts_with_thousands_separators_are_numbers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Spreadsheet exports write "12,345": such a column is numeric and read as those numbers
    (before, mostly-distinct text became an untested id column, whatever its shift)."""
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"amount": [f"{v:,.2f}" for v in rng.uniform(500, 5000, 2000)]})
    cur = pd.DataFrame({"amount": [f"{v:,.2f}" for v in rng.uniform(5000, 50000, 2000)]})
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_csv(tmp_path / "cur.csv", index=False)
    for reference, current in [(ref, cur), (tmp_path / "ref.csv", tmp_path / "cur.csv")]:
        column = seismo.compare(reference, current)["amount"]
        assert column.kind is Kind.NUMERIC and column.tested and column.drifted
        assert column.reference.mean == pytest.approx(
            ref["amount"].str.replace(",", "").astype(float).mean()
        )
