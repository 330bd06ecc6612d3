"""seismo: data drift and model performance monitoring.

>>> import seismo
>>> sorted(name for name in seismo.__all__ if name[0].islower())
['compare', 'fit_reference', 'profile']
"""

from seismo.api import compare, fit_reference, profile
from seismo.client import Client
from seismo.drift import DriftConfig, DriftReport, Severity
from seismo.errors import InputError, SchemaError, SeismoError
from seismo.profile import DatasetProfile, ProfileOptions, Reference
from seismo.schema import Kind, Role, Schema

__version__ = "0.1.0"

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
    "fit_reference",
    "profile",
]
