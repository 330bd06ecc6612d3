"""seismo: data drift and model performance monitoring.

>>> import seismo
>>> sorted(name for name in seismo.__all__ if name[0].islower())
['compare', 'diagnose', 'fit_reference', 'profile']

``import seismo`` is cheap (no numpy, pyarrow, scipy or httpx): the classes below that need them
are imported on first use (PEP 562), and the entry points import the engine when first called.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from seismo._version import __version__ as __version__
from seismo.api import compare, diagnose, fit_reference, profile
from seismo.errors import InputError, SchemaError, SeismoError
from seismo.schema import Kind, Role, Schema

if TYPE_CHECKING:
    from seismo.client import Client
    from seismo.drift import DriftConfig, DriftReport, Severity
    from seismo.profile import DatasetProfile, ProfileOptions, Reference


__all__ = [
    "Client",
    "DatasetProfile",
    "DriftConfig",
    "DriftReport",
    "InputError",
    "Kind",
    "ProfileOptions",
    "Reference",
    "Role",
    "Schema",
    "SchemaError",
    "SeismoError",
    "Severity",
    "compare",
    "diagnose",
    "fit_reference",
    "profile",
]

#: Public names imported on first access, and the module each comes from.
_LAZY = {
    "Client": "seismo.client",
    "DatasetProfile": "seismo.profile",
    "DriftConfig": "seismo.drift",
    "DriftReport": "seismo.drift",
    "ProfileOptions": "seismo.profile",
    "Reference": "seismo.profile",
    "Severity": "seismo.drift",
}


if not TYPE_CHECKING:  # type checkers see the imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'seismo' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """Keeps ``seismo.profile`` the function when the subpackage is first imported.

    The import system sets a subpackage as an attribute of its parent when it first loads it.
    The ``seismo.profile`` package used to load before the function was bound here, so the
    function won; now it loads later (on first use), and that one assignment is ignored.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "profile" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
