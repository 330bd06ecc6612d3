from __future__ import annotations

from pathlib import Path

import pytest

from seismo.errors import SchemaError
from seismo.schema.io import load_overrides
from seismo.schema.types import Kind, Role


def test_yaml_and_json_files_load_the_same(tmp_path: Path) -> None:
    yaml_file = tmp_path / "schema.yaml"
    yaml_file.write_text("columns:\n  carrier: categorical\n  delay: {role: target}\n")
    json_file = tmp_path / "schema.json"
    json_file.write_text('{"columns": {"carrier": "categorical", "delay": {"role": "target"}}}')
    for path in (yaml_file, json_file):
        overrides = load_overrides(path)
        assert overrides.columns["carrier"].kind is Kind.CATEGORICAL
        assert overrides.columns["delay"].role is Role.TARGET
        assert overrides.columns["delay"].kind is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.yaml", "columns: [unclosed", "invalid YAML at line 1"),
        ("bad.json", '{"columns": ', "invalid JSON at line 1"),
        ("empty.yaml", "", "the schema file is empty"),
        ("list.yaml", "- a\n- b\n", "expected a mapping with a 'columns' key"),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SchemaError) as caught:
        load_overrides(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="schema file not found"):
        load_overrides(tmp_path / "nope.yaml")
