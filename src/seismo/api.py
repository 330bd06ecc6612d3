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


def diagnose(
    reference: Any, current: Any, schema: SchemaLike | None = None, model: Any = None
) -> Diagnosis:
    """Why ``current`` differs from ``reference``: a pipeline error (checked first, and
    deciding), concept drift, prior shift, covariate drift, or nothing material (see
    :mod:`seismo.loop.diagnosis`).

    Takes what :func:`compare` takes. With a ``target`` column (its role in ``schema``) in both
    tables, concept drift and prior shift are told apart from covariate drift; without, the
    diagnosis says so in its notes. ``model`` is a fitted scikit-learn estimator or pipeline (or
    the path of one saved with joblib): its predictions measure the performance, and its
    importances rank the drifted features. A time column (role ``timestamp``, or the only
    datetime column) lets a step at one instant be found.

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
    from seismo.io.sources import open_source
    from seismo.loop.diagnosis import diagnose_profiles, diagnose_tables, read_rows
    from seismo.profile.dataset import DatasetProfile, Reference

    fitted_model = _load_model(model)
    reference_name = str(reference) if isinstance(reference, str | Path) else "reference"
    current_name = str(current) if isinstance(current, str | Path) else "current"
    if isinstance(reference, Reference):
        if schema is not None:
            raise InputError("schema: the reference is already fitted; its schema is fixed")
        fitted = reference
    else:
        fitted = fit_reference(reference, schema, name=reference_name)
    if isinstance(current, DatasetProfile):
        if current.row_count == 0:
            raise InputError(f"{current_name}: no rows; there is nothing to diagnose")
        return diagnose_profiles(fitted, current)
    current_profile = profile(fitted, current, name=current_name)
    if current_profile.row_count == 0:
        raise InputError(f"{current_name}: no rows; there is nothing to diagnose")
    reference_rows = (
        None
        if isinstance(reference, Reference)
        else read_rows(open_source(reference, reference_name), fitted.schema)
    )
    current_rows = read_rows(open_source(current, current_name), fitted.schema)
    return diagnose_tables(
        fitted, current_profile, current_rows, reference_rows, model=fitted_model
    )


def _load_model(model: Any) -> Any:
    """A fitted model, or the one saved (with joblib or pickle) at a path."""
    if model is None or not isinstance(model, str | Path):
        if model is not None and not hasattr(model, "predict"):
            raise InputError(
                f"model: expected a fitted estimator with predict(); got {type(model).__name__}"
            )
        return model
    path = Path(model)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        import joblib
    except ImportError:
        raise InputError(
            f"{path}: loading a model needs joblib (pip install 'seismo[sklearn]')"
        ) from None
    try:
        loaded = joblib.load(path)
    except Exception as error:  # whatever the file holds, one line says why it is refused
        raise InputError(
            f"{path}: cannot load a model from it ({type(error).__name__}: {error})"
        ) from error
    if not hasattr(loaded, "predict"):
        raise InputError(
            f"{path}: holds a {type(loaded).__name__}, not a fitted model with predict()"
        )
    return loaded
