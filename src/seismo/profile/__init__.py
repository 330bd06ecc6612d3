"""Mergeable, serialisable column summaries on grids fixed by the reference."""

from seismo.profile.build import ProfileOptions, fit_reference, merge_profiles, profile_current
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import ColumnProfile, DatasetProfile, Reference
from seismo.profile.grid import CategoricalGrid, NumericGrid
from seismo.profile.numeric import NumericProfile

__all__ = [
    "CategoricalGrid",
    "CategoricalProfile",
    "ColumnProfile",
    "DatasetProfile",
    "NumericGrid",
    "NumericProfile",
    "ProfileOptions",
    "Reference",
    "fit_reference",
    "merge_profiles",
    "profile_current",
]
