"""The core's layers import only downwards (DESIGN.md, "Layers"), so none of these edges can
come back unnoticed: profile never imports io, data-quality checks live with drift, and the
report takes the version from one place rather than importing the package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import seismo

SRC = Path(seismo.__file__).parent

#: What each core layer may import from seismo (itself included), at any depth of a module.
ALLOWED = {
    "errors": {"errors"},
    "schema": {"errors", "schema"},
    "stats": {"errors", "stats"},
    "profile": {"errors", "schema", "stats", "profile"},
    # DriftReport.to_json / to_html hand over to the renderer: a call, not a dependency.
    "drift": {"errors", "schema", "stats", "profile", "drift", "report"},
    "report": {"_version", "errors", "schema", "stats", "profile", "drift", "report"},
}


def _seismo_imports(path: Path) -> set[str]:
    """The first component under ``seismo`` of every module ``path`` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "seismo":
                found.add(parts[1] if len(parts) > 1 else "<package>")
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_core_layers_import_only_downwards(layer: str) -> None:
    files = [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").exists() else []
    files += sorted((SRC / layer).glob("*.py")) if (SRC / layer).is_dir() else []
    assert files, layer
    for path in files:
        extra = _seismo_imports(path) - ALLOWED[layer]
        assert not extra, f"{path.relative_to(SRC)} imports seismo.{sorted(extra)}"


def test_one_version_for_package_report_and_service() -> None:
    import importlib.metadata

    from seismo._version import __version__
    from seismo.service.app import create_app
    from seismo.service.config import ServiceSettings

    assert seismo.__version__ == __version__
    assert importlib.metadata.version("seismo") == __version__
    app = create_app(ServiceSettings(store="sqlite://"))
    assert app.version == __version__


def _seismo_modules(path: Path) -> set[str]:
    """Every ``seismo.*`` module ``path`` imports, by full name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("seismo.")}
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("seismo.")
        ):
            found.add(str(node.module))
    return found


#: Modules a package must not import: readers of the monitor's windows read them through
#: the one read path (monitor.history), never through the write-side job.
FORBIDDEN = {"alerts": {"seismo.monitor.job"}, "grafana": {"seismo.monitor.job"}}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_readers_of_windows_do_not_import_the_monitor_job(package: str) -> None:
    files = [SRC / f"{package}.py"] if (SRC / f"{package}.py").exists() else []
    files += sorted((SRC / package).rglob("*.py")) if (SRC / package).is_dir() else []
    assert files, package
    for path in files:
        bad = _seismo_modules(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
