"""The Python entry points: fit a reference, profile data, compare.

This module is imported by ``import seismo``, so it imports the engine (numpy, pyarrow, scipy)
inside the functions, on first call: ``import seismo`` and ``seismo --help`` stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from seismo.errors import InputError

if TYPE_CHECKING:
    from seismo.drift.config import DriftConfig
    from seismo.drift.quality import QualityPolicy
    from seismo.drift.result import DriftReport
    from seismo.loop.diagnosis import Diagnosis
    from seismo.profile.build import ProfileOptions, Progress
    from seismo.profile.dataset import DatasetProfile, Reference
    from seismo.schema.io import SchemaLike


def fit_reference(
    data: Any,
    schema: SchemaLike | None = None,
    *,
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
    name: str = "reference",
) -> Reference:
    """Fit a reference from training data (pandas, polars, pyarrow, a mapping, or a file path).

    The reference holds the inferred schema (overridden by ``schema``) and the profile whose
    grids every later batch is counted on. Save it with ``to_bytes()``.
    """
    from seismo.io.sources import open_source
    from seismo.profile import build
    from seismo.schema.io import as_overrides

    return build.fit_reference(open_source(data, name), as_overrides(schema), options, progress)


def profile(
    reference: Reference,
    data: Any,
    *,
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
    name: str = "current",
) -> DatasetProfile:
    """Profile a batch of data on the reference's grids; profiles of batches merge."""
    from seismo.io.sources import open_source
    from seismo.profile import build

    return build.profile_current(reference, open_source(data, name), options, progress)


def compare(
    reference: Any,
    current: Any,
    schema: SchemaLike | None = None,
    *,
    config: DriftConfig | None = None,
    quality: QualityPolicy | None = None,
    options: ProfileOptions | None = None,
    progress: Progress | None = None,
) -> DriftReport:
    """Compare current data with reference data, column by column.

    Both may be pandas, polars or pyarrow tables, mappings of arrays, or CSV/Parquet paths; the
    reference may also be a fitted :class:`~seismo.profile.Reference` and the current a
    :class:`~seismo.profile.DatasetProfile` counted on it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(7)
    >>> reference = {"age": rng.normal(40, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> current = {"age": rng.normal(45, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> report = compare(reference, current)
    >>> report["age"].drifted, report["plan"].drifted
    (True, False)
    >>> report.dataset.features_drifted, report.dataset.severity
    (1, <Severity.HIGH: 'high'>)
    """
    from seismo.drift.engine import compare_profiles
    from seismo.profile.dataset import DatasetProfile, Reference

    reference_name = str(reference) if isinstance(reference, str | Path) else "reference"
    current_name = str(current) if isinstance(current, str | Path) else "current"
    if isinstance(reference, Reference):
        if schema is not None:
            raise InputError("schema: the reference is already fitted; its schema is fixed")
        fitted = reference
    else:
        fitted = fit_reference(
            reference, schema, options=options, progress=progress, name=reference_name
        )
    if isinstance(current, DatasetProfile):
        current_profile = current
    else:
        current_profile = profile(
            fitted, current, options=options, progress=progress, name=current_name
        )
    if current_profile.row_count == 0:
        raise InputError(f"{current_name}: no rows; there is nothing to compare")
    return compare_profiles(
        fitted,
        current_profile,
        config,
        quality=quality,
        reference_name=reference_name,
        current_name=current_name,
    )


def diagnose(reference: Any, current: Any, schema: SchemaLike | None = None) -> Diagnosis:
    """Why ``current`` differs from ``reference``: a pipeline error (checked first, and
    deciding), covariate drift, or nothing material (see :mod:`seismo.loop.diagnosis`).

    Takes what :func:`compare` takes. Without labels and model outputs in the data, concept
    drift and prior shift cannot be told apart, and the diagnosis says so in its notes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> reference = {"length_cm": rng.gamma(4, 10, 4000), "plan": rng.choice(["a", "b"], 4000)}
    >>> current = {"length_cm": rng.gamma(4, 10, 4000) / 2.54, "plan": rng.choice(["a", "b"], 4000)}
    >>> diagnosis = diagnose(reference, current)
    >>> diagnosis.cause.value, diagnosis.action.value, diagnosis.findings[0].kind
    ('pipeline_error', 'fix_pipeline', 'unit_change')
    """
    from seismo.loop.diagnosis import diagnose_profiles
    from seismo.profile.dataset import Reference

    if isinstance(reference, Reference):
        if schema is not None:
            raise InputError("schema: the reference is already fitted; its schema is fixed")
        fitted = reference
    else:
        name = str(reference) if isinstance(reference, str | Path) else "reference"
        fitted = fit_reference(reference, schema, name=name)
    current_name = str(current) if isinstance(current, str | Path) else "current"
    current_profile = profile(fitted, current, name=current_name)
    if current_profile.row_count == 0:
        raise InputError(f"{current_name}: no rows; there is nothing to diagnose")
    return diagnose_profiles(fitted, current_profile)
