"""Profiles of whole datasets, and the fitted reference they are counted against."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from seismo.errors import InputError, ProfileMismatchError
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.grid import CategoricalGrid, Grid, NumericGrid
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Physical, Schema, combine_physical

ColumnProfile = NumericProfile | CategoricalProfile

FORMAT = "seismo.profile"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class DatasetProfile:
    """Column profiles of one batch of rows, counted on a reference's grids.

    ``physical`` records the storage type of every column the data had, including columns the
    reference does not know (they have no profile). Merging two dataset profiles merges every
    column profile; the result describes the union of the rows.
    """

    row_count: int
    columns: Mapping[str, ColumnProfile]
    physical: Mapping[str, Physical]

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        if set(self.columns) != set(other.columns):
            raise ProfileMismatchError(
                "merge: the dataset profiles cover different columns "
                f"({sorted(set(self.columns) ^ set(other.columns))})"
            )
        physical = dict(self.physical)
        for name, kind in other.physical.items():
            physical[name] = combine_physical({physical.get(name, Physical.NULL), kind})
        return DatasetProfile(
            self.row_count + other.row_count,
            {
                name: merge_columns(profile, other.columns[name])
                for name, profile in self.columns.items()
            },
            physical,
        )

    def to_dict(self, *, grids: bool = True) -> dict[str, Any]:
        """The profile as plain data; without its ``grids`` (which the reader must then give
        back to :meth:`from_dict`) when the profile travels to where the grids are known."""
        columns = {name: profile.to_dict() for name, profile in self.columns.items()}
        if not grids:
            columns = {
                name: {k: v for k, v in column.items() if k != "grid"}
                for name, column in columns.items()
            }
        return {
            "row_count": self.row_count,
            "physical": {name: kind.value for name, kind in self.physical.items()},
            "columns": columns,
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], grids: Mapping[str, Grid] | None = None
    ) -> DatasetProfile:
        columns: dict[str, ColumnProfile] = {}
        for name, payload in data["columns"].items():
            grid = None if grids is None else grids[name]
            numeric = payload["type"] == "numeric"
            if grid is not None and isinstance(grid, NumericGrid) != numeric:
                raise ProfileMismatchError(f"column {name!r}: the grid given is of another kind")
            if numeric:
                columns[name] = NumericProfile.from_dict(payload, cast(NumericGrid | None, grid))
            else:
                columns[name] = CategoricalProfile.from_dict(
                    payload, cast(CategoricalGrid | None, grid)
                )
        physical = {name: Physical(kind) for name, kind in data["physical"].items()}
        return cls(int(data["row_count"]), columns, physical)

    def to_bytes(self, *, grids: bool = True) -> bytes:
        """Compact, versioned serialisation (zlib-compressed JSON); see :meth:`to_dict`."""
        return _pack({"kind": "dataset_profile", **self.to_dict(grids=grids)})

    @classmethod
    def from_bytes(cls, blob: bytes, grids: Mapping[str, Grid] | None = None) -> DatasetProfile:
        return cls.from_dict(_unpack(blob, "dataset_profile"), grids)


def merge_columns(left: ColumnProfile, right: ColumnProfile) -> ColumnProfile:
    if isinstance(left, NumericProfile) and isinstance(right, NumericProfile):
        return left.merge(right)
    if isinstance(left, CategoricalProfile) and isinstance(right, CategoricalProfile):
        return left.merge(right)
    raise ProfileMismatchError("merge: a numeric profile cannot merge with a categorical one")


@dataclass(frozen=True, eq=False)
class Reference:
    """A fitted reference: its schema (kinds, roles) and its profile, which holds the grids.

    Fit it once from training data with :func:`seismo.fit_reference`; every later batch is
    profiled on its grids with :meth:`profile` and compared with :func:`seismo.compare`.
    """

    schema: Schema
    profile: DatasetProfile

    def to_dict(self) -> dict[str, Any]:
        return {"schema": self.schema.to_dict(), "profile": self.profile.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        return cls(Schema.from_dict(data["schema"]), DatasetProfile.from_dict(data["profile"]))

    def to_bytes(self) -> bytes:
        return _pack({"kind": "reference", **self.to_dict()})

    @classmethod
    def from_bytes(cls, blob: bytes) -> Reference:
        return cls.from_dict(_unpack(blob, "reference"))


def _pack(payload: dict[str, Any]) -> bytes:
    document = {"format": FORMAT, "version": FORMAT_VERSION, **payload}
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 6)


def _unpack(blob: bytes, kind: str) -> dict[str, Any]:
    try:
        document = json.loads(zlib.decompress(blob))
    except (zlib.error, ValueError) as error:
        raise InputError(f"not a seismo {kind.replace('_', ' ')} ({error})") from error
    if document.get("format") != FORMAT or document.get("kind") != kind:
        raise InputError(f"not a seismo {kind.replace('_', ' ')}")
    if document.get("version") != FORMAT_VERSION:
        raise InputError(
            f"{kind.replace('_', ' ')} format version {document.get('version')} is not supported "
            f"by this seismo (reads version {FORMAT_VERSION}); upgrade seismo"
        )
    return dict(document)
