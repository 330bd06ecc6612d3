"""Registered models: registration from files, and loaded models that answer predictions."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seismo.errors import InputError
from seismo.profile.dataset import Reference
from seismo.schema.types import ColumnSchema, Kind, Physical, Role
from seismo.store.base import ModelVersion, Store

TASKS = ("classification", "regression")


def load_artifact(path: str | Path) -> Any:
    """Load a scikit-learn (joblib) model file, with a clear error when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    try:
        import joblib
    except ImportError:
        raise InputError(
            "hosting models needs scikit-learn: pip install 'seismo[sklearn]'"
        ) from None
    try:
        model = joblib.load(path)
    except Exception as error:  # unpickling can raise anything
        raise InputError(f"{path}: not a joblib/pickle model file ({error})") from error
    if not hasattr(model, "predict"):
        raise InputError(f"{path}: the object in the file has no predict() method")
    return model


#: The documented alphabet of model names: they become URL segments and directory names, so no
#: separators, dots alone or control characters.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def register_model(
    store: Store,
    name: str,
    *,
    reference: Reference,
    model_file: str | Path | None = None,
    models_dir: str | Path = "seismo-data/models",
    task: str | None = None,
    classes: list[str] | None = None,
    description: str = "",
    training_data: Any = None,
    sample_rows: int = 5000,
    status: str = "registered",
    parent_version: int | None = None,
    lineage: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the next version of ``name`` with its reference profile.

    A version registered by hand (``status="registered"``) serves at once; the closed loop
    registers retrained ones as ``"candidate"``, which serve nobody until rolled out. With
    ``training_data`` (the rows the model was fitted on, with the target column the reference
    schema names) up to ``sample_rows`` of them are kept beside the artifact, so a retrain
    can mix them with recent labelled predictions.

    With ``model_file`` (a joblib-saved scikit-learn estimator or pipeline) the service hosts
    it: the task and classes come from the estimator (``predict_proba`` and ``classes_`` make a
    classifier), the features from ``feature_names_in_`` or else the reference's feature
    columns. Without it the model is served elsewhere and only logs predictions; then ``task``
    is required (and ``classes`` for classification, positive class last).
    """
    if not MODEL_NAME.fullmatch(name):
        raise InputError(
            f"model name {name!r}: use letters, digits, '-', '_' or '.', starting with a letter "
            "or digit (at most 128 characters)"
        )
    feature_columns = [c.name for c in reference.schema.with_role(Role.FEATURE)]
    artifact: str | None = None
    if model_file is not None:
        estimator = load_artifact(model_file)
        is_classifier = hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_")
        task = task or ("classification" if is_classifier else "regression")
        if is_classifier:
            classes = [str(c) for c in estimator.classes_]
        names = getattr(estimator, "feature_names_in_", None)
        if names is not None:
            features = [str(n) for n in names]
            missing = [n for n in features if n not in reference.schema]
            if missing:
                raise InputError(
                    f"{model_file}: the model uses feature(s) {missing} that the reference data "
                    "does not have"
                )
        else:
            features = feature_columns
    else:
        features = feature_columns
    if task is None:
        raise InputError(
            "task: a model served elsewhere (no --model file) needs --task classification or "
            "--task regression"
        )
    if task not in TASKS:
        raise InputError(f"task: give 'classification' or 'regression' (got {task!r})")
    if task == "classification" and not classes:
        raise InputError(
            "classes: a classification model served elsewhere needs --classes, its class names "
            "separated by commas, positive class last (e.g. --classes no,yes)"
        )
    latest = store.get_model_version(name)
    number = latest.version + 1 if latest else 1
    lineage = dict(lineage or {})
    if model_file is not None:
        target = Path(models_dir) / name / f"v{number}" / Path(model_file).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(model_file, target)
        artifact = str(target)
        targets = [c.name for c in reference.schema.with_role(Role.TARGET)]
        if training_data is not None and targets and sample_rows > 0:
            from seismo.loop.train import SAMPLE_FILE, save_sample

            kept = save_sample(
                _to_pandas(training_data),
                list(features),
                targets[0],
                target.parent / SAMPLE_FILE,
                sample_rows,
            )
            lineage["training_sample"] = {"rows": kept, "target": targets[0]}
    reference_bytes = reference.to_bytes()
    lineage.setdefault("profile_sha256", hashlib.sha256(reference_bytes).hexdigest())
    version = store.add_model_version(
        name,
        task=task,
        reference=reference_bytes,
        artifact=artifact,
        classes=tuple(classes or ()),
        features=tuple(features),
        description=description,
        parent_version=parent_version,
        status=status,
        lineage=lineage,
    )
    if version.version != number:  # another registration won the race for this number
        raise InputError(f"model {name!r}: registered concurrently; register again")
    if status == "registered":
        from seismo.loop.registry import registered_by_hand

        registered_by_hand(store, version)
    return version


PREDICTION_COLUMN = "prediction"
SCORE_COLUMN = "score"


def fit_reference_with_predictions(
    data: Any, schema: Any, model_file: str | Path, *, name: str = "reference"
) -> Reference:
    """Fit a hosted model's reference with the model's own outputs on the training data.

    The columns ``prediction`` (and ``score`` for a binary classifier: the positive-class
    probability) are added with roles prediction/score, so the monitor reports prediction drift
    against what the model did on its training data. Needs a model that records its input
    column names (``feature_names_in_``, set when it was fitted on a DataFrame); otherwise the
    reference is fitted as given.
    """
    from seismo.api import fit_reference
    from seismo.schema.io import as_overrides
    from seismo.schema.types import ColumnOverride, SchemaOverrides

    estimator = load_artifact(model_file)
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return fit_reference(data, schema, name=name)
    frame = _to_pandas(data)
    missing = [str(n) for n in names if n not in frame.columns]
    if missing:
        raise InputError(f"{name}: the model uses feature(s) {missing} that the data lacks")
    inputs = frame[list(names)]
    overrides = dict(getattr(as_overrides(schema), "columns", {}) or {})
    if hasattr(estimator, "predict_proba") and hasattr(estimator, "classes_"):
        probabilities = np.asarray(estimator.predict_proba(inputs), dtype=np.float64)
        classes = [str(c) for c in estimator.classes_]
        frame[PREDICTION_COLUMN] = [classes[i] for i in probabilities.argmax(axis=1)]
        overrides[PREDICTION_COLUMN] = ColumnOverride(Kind.CATEGORICAL, Role.PREDICTION)
        if len(classes) == 2:
            frame[SCORE_COLUMN] = probabilities[:, 1]
            overrides[SCORE_COLUMN] = ColumnOverride(Kind.NUMERIC, Role.SCORE)
    else:
        frame[PREDICTION_COLUMN] = np.asarray(estimator.predict(inputs), dtype=np.float64)
        overrides[PREDICTION_COLUMN] = ColumnOverride(Kind.NUMERIC, Role.PREDICTION)
    return fit_reference(frame, SchemaOverrides(overrides, name), name=name)


def _to_pandas(data: Any) -> Any:
    import pandas as pd
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    if isinstance(data, str | Path):
        path = Path(data)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pq.read_table(path).to_pandas()
        return pa_csv.read_csv(path).to_pandas()
    if isinstance(data, pd.DataFrame):
        return data.copy()
    raise InputError("the reference data must be a CSV/Parquet path or a pandas DataFrame")


@dataclass
class HostedModel:
    """A model version ready to serve: metadata, reference kinds and (if hosted) the estimator."""

    version: ModelVersion
    kinds: dict[str, Kind]  # what each feature's request values are validated as
    estimator: Any | None = None
    _lock: threading.Lock | None = None

    @classmethod
    def load(cls, version: ModelVersion) -> HostedModel:
        reference = Reference.from_bytes(version.reference)
        kinds = {name: accepted_kind(reference.schema[name]) for name in version.features}
        estimator = load_artifact(version.artifact) if version.artifact else None
        return cls(version, kinds, estimator, threading.Lock())

    @property
    def features(self) -> tuple[str, ...]:
        return self.version.features

    def predict(self, rows: list[dict[str, Any]]) -> tuple[list[Any], list[Any] | None]:
        """Outputs and scores (positive-class probability for binary, list for multiclass)."""
        import pandas as pd

        if self.estimator is None:
            raise RuntimeError("this model is served elsewhere; it cannot predict here")
        frame = pd.DataFrame(rows, columns=list(self.features))
        data: Any = frame if hasattr(self.estimator, "feature_names_in_") else frame.to_numpy()
        if self.version.task == "classification" and hasattr(self.estimator, "predict_proba"):
            probabilities = np.asarray(self.estimator.predict_proba(data), dtype=np.float64)
            classes = [str(c) for c in self.estimator.classes_]
            outputs = [classes[i] for i in probabilities.argmax(axis=1)]
            scores: list[Any] = (
                probabilities[:, 1].round(6).tolist()
                if len(classes) == 2
                else probabilities.round(6).tolist()
            )
            return outputs, scores
        predictions = np.asarray(self.estimator.predict(data))
        return [_plain(value) for value in predictions.tolist()], None


def accepted_kind(column: ColumnSchema) -> Kind:
    """The kind a feature's request values are validated as: the reference's, except that a
    numeric column the reference held as text ("16", "unknown") takes text as well, which the
    monitor reads as the reference was read (text that is not a number counts as invalid), so
    every value the reference had is accepted."""
    if column.kind is Kind.NUMERIC and column.physical in (Physical.STRING, Physical.MIXED):
        return Kind.CATEGORICAL
    return column.kind


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
