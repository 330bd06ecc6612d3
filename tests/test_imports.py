"""Start-up: ``import seismo`` and ``seismo --help`` load none of the heavy libraries.

The property is structural (which modules are loaded, in a fresh interpreter), not a time: the
times are measured by hand with bench/startup.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import seismo

#: Each costs 0.1-1 s to import; none is needed to import seismo or to print the CLI's help.
HEAVY = ("numpy", "scipy", "pandas", "pyarrow", "httpx", "sqlalchemy", "fastapi", "jinja2")

_REPORT_LOADED = f"""
import json, sys
print("LOADED=" + json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def _loaded_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", code + _REPORT_LOADED],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED="), done.stdout
    loaded: list[str] = json.loads(last.removeprefix("LOADED="))
    return loaded


def test_import_seismo_is_light() -> None:
    assert _loaded_after("import seismo") == []


def test_lazy_names_resolve_to_the_same_objects() -> None:
    code = """
import seismo
from seismo.client import Client
from seismo.drift import DriftConfig, DriftReport, Severity
from seismo.profile import DatasetProfile, ProfileOptions, Reference
for name, value in [("Client", Client), ("DriftConfig", DriftConfig),
                    ("DriftReport", DriftReport), ("Severity", Severity),
                    ("DatasetProfile", DatasetProfile), ("ProfileOptions", ProfileOptions),
                    ("Reference", Reference)]:
    assert getattr(seismo, name) is value, name
assert set(seismo.__all__) <= set(dir(seismo))
"""
    _loaded_after(code)


def test_profile_stays_the_function_once_the_subpackage_loads() -> None:
    # A first import of the seismo.profile package sets it as an attribute of seismo.
    code = """
import seismo
import seismo.profile.build
assert seismo.profile.__module__ == "seismo.api", seismo.profile
"""
    _loaded_after(code)  # fails unless the assertion in the child held


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = seismo.nope  # type: ignore[attr-defined]


@pytest.mark.parametrize("argv", [["--help"], ["report", "--help"], ["models", "--help"]])
def test_cli_help_is_light(argv: list[str]) -> None:
    code = f"""
import sys
sys.argv = ["seismo", *{argv!r}]
from seismo.cli import main
try:
    main()
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
"""
    assert _loaded_after(code) == []
