"""KServe manifests: valid against the real InferenceService CRD schema (KServe v0.20.0, see
tests/data/kserve/README.md), names that are DNS-1035 labels, canary fields where KServe reads
them, and an InputError naming the field for every input KServe could not serve."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path, PurePath
from typing import Any

import jsonschema
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import seismo
from seismo.errors import InputError
from seismo.loop.kserve import (
    DNS1035_LABEL,
    MAX_NAME_LENGTH,
    inference_service,
    kubernetes_name,
    model_storage_uri,
    to_yaml,
)
from seismo.loop.models import MODEL_NAME, register_model
from seismo.store import open_store
from seismo.store.base import ModelVersion
from tests.service.conftest import FEATURES, training_frame

SCHEMA_FILE = (
    Path(__file__).parents[1] / "data" / "kserve" / "inferenceservice-v1beta1.schema.json.gz"
)
#: k8s.io/apimachinery's DNS-1035 label, written out here rather than taken from the module.
K8S_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
URI = "s3://ml-models/seismo/flights/v3/"


def _version(
    model: str = "flights",
    number: int = 3,
    *,
    task: str = "classification",
    artifact: str | None = "",
) -> ModelVersion:
    """A version; its artifact in seismo's layout unless ``artifact`` is given."""
    if artifact == "":
        artifact = f"seismo-data/models/{model}/v{number}/model.joblib"
    return ModelVersion(
        model,
        number,
        task,
        b"",
        datetime(2026, 1, 1, tzinfo=UTC),
        artifact=artifact,
        classes=("no", "yes"),
    )


V3 = _version()


@cache
def kserve_validator() -> jsonschema.Draft4Validator:
    """The CRD schema's validator, checked against the meta-schema once per session (that
    check takes seconds; test_models_cli validates with it too)."""
    with gzip.open(SCHEMA_FILE, "rt", encoding="utf-8") as file:
        schema: dict[str, Any] = json.load(file)
    # A CRD's openAPIV3Schema is a subset of JSON Schema draft 4 plus x-kubernetes-* keys.
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


@pytest.fixture
def validator() -> jsonschema.Draft4Validator:
    return kserve_validator()


def _undeclared(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """Fields of ``value`` the schema does not declare. A structural CRD schema forbids unknown
    fields by omission (the API server prunes them, or rejects them under kubectl's strict
    field validation), which JSON Schema without ``additionalProperties: false`` allows."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                yield from _undeclared(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from _undeclared(item, extra, f"{path}.{key}")
            elif properties is not None or extra is False:
                yield f"{path}.{key}"
            # else: a free-form object (metadata: the API server checks ObjectMeta itself)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _undeclared(item, schema.get("items", {}), f"{path}[{index}]")


def _errors(validator: jsonschema.Draft4Validator, manifest: dict[str, Any]) -> list[str]:
    found = [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    found += [f"{field}: not declared" for field in _undeclared(manifest, validator.schema)]
    return found


MANIFESTS = {
    "plain": {},
    "canary 10%": {"canary_percent": 10},
    "canary 0% (roll back)": {"canary_percent": 0},
    "canary 100%": {"canary_percent": 100},
    "namespace and resources": {
        "namespace": "ml-prod",
        "service_account": "models-s3-reader",
        "min_replicas": 0,
        "max_replicas": 4,
        "resources": {
            "requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": 2, "memory": "2Gi", "nvidia.com/gpu": "1"},
        },
        "labels": {"team": "forecasting", "example.com/tier": "gold"},
        "annotations": {"example.com/owner": "ml platform <ml@example.com>"},
    },
    "canary with everything": {
        "canary_percent": 25,
        "namespace": "ml-prod",
        "min_replicas": 1,
        "max_replicas": 1,
        "resources": {"limits": {"memory": "512Mi"}},
        "deployment_mode": "Serverless",
    },
    "standard mode": {"deployment_mode": "Standard"},
}


@pytest.mark.parametrize("options", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_manifests_are_valid_inference_services(
    validator: jsonschema.Draft4Validator, options: dict[str, Any]
) -> None:
    manifest = inference_service("flights", version=V3, storage_uri=URI, **options)
    assert _errors(validator, manifest) == []
    assert manifest["apiVersion"] == "serving.kserve.io/v1beta1"
    assert manifest["kind"] == "InferenceService"
    assert K8S_DNS1035.match(manifest["metadata"]["name"])
    model = manifest["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "sklearn"}
    assert model["storageUri"] == URI
    # What kubectl reads is the YAML: the same document, version label still a string.
    assert yaml.safe_load(to_yaml(manifest)) == manifest
    assert "seismo.dev/version: '3'" in to_yaml(manifest)


def test_the_canary_manifest_carries_the_challenger_and_the_percent_in_knative_mode() -> None:
    champion = inference_service(
        "flights",
        version=_version(number=2),
        storage_uri=model_storage_uri("s3://ml-models/seismo", _version(number=2)),
    )
    challenger = inference_service(
        "flights",
        version=V3,
        storage_uri=model_storage_uri("s3://ml-models/seismo", V3),
        canary_percent=10,
    )
    # The same service is updated: KServe splits between its new and last rolled-out revision.
    assert champion["metadata"]["name"] == challenger["metadata"]["name"] == "flights"
    assert "canaryTrafficPercent" not in champion["spec"]["predictor"]
    assert challenger["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert challenger["spec"]["predictor"]["model"]["storageUri"] == URI
    assert champion["spec"]["predictor"]["model"]["storageUri"].endswith("/flights/v2/")
    assert challenger["metadata"]["labels"] == {
        "seismo.dev/model": "flights",
        "seismo.dev/version": "3",
    }
    # Only Knative mode splits traffic; a canary says so, a plain manifest leaves the default.
    mode = "serving.kserve.io/deploymentMode"
    assert challenger["metadata"]["annotations"][mode] == "Knative"
    assert mode not in champion["metadata"]["annotations"]
    assert champion["spec"]["predictor"]["model"]["protocolVersion"] == "v1"


def test_labels_hold_the_service_name_and_annotations_the_exact_seismo_name() -> None:
    version = _version("Flights.Delay_", 7, artifact="m/Flights.Delay_/v7/model.pkl")
    manifest = inference_service("Flights.Delay_", version=version, storage_uri=URI)
    metadata = manifest["metadata"]
    assert metadata["name"] == "flights-delay"
    assert metadata["labels"]["seismo.dev/model"] == "flights-delay"  # a valid label value
    assert metadata["annotations"]["seismo.dev/model"] == "Flights.Delay_"
    assert metadata["annotations"]["seismo.dev/version"] == "7"


# The schema bites: each broken manifest is refused, by the check that enforces it.
BROKEN = {
    "percent as a string": (
        lambda m: m["spec"]["predictor"].update(canaryTrafficPercent="10"),
        "spec.predictor.canaryTrafficPercent: '10' is not of type 'integer'",
    ),
    "replicas as a float": (
        lambda m: m["spec"]["predictor"].update(minReplicas=1.5),
        "spec.predictor.minReplicas: 1.5 is not of type 'integer'",
    ),
    "no model format name": (
        lambda m: m["spec"]["predictor"]["model"].update(modelFormat={"version": "1"}),
        "spec.predictor.model.modelFormat: 'name' is a required property",
    ),
    "no predictor": (
        lambda m: m["spec"].pop("predictor"),
        "spec: 'predictor' is a required property",
    ),
    "memory not a quantity": (
        lambda m: m["spec"]["predictor"]["model"].update(resources={"limits": {"memory": "2 GB"}}),
        "spec.predictor.model.resources.limits.memory: '2 GB' does not match",
    ),
    "unknown scale metric": (
        lambda m: m["spec"]["predictor"].update(scaleMetric="latency"),
        "spec.predictor.scaleMetric: 'latency' is not one of",
    ),
    "misspelt field under predictor": (
        lambda m: m["spec"]["predictor"].update(canaryTrafficPercentage=10),
        ".spec.predictor.canaryTrafficPercentage: not declared",
    ),
    "storageUri beside model": (
        lambda m: m["spec"]["predictor"].update(storageUri=URI),
        ".spec.predictor.storageUri: not declared",
    ),
}


@pytest.mark.parametrize(("breaks", "error"), BROKEN.values(), ids=BROKEN.keys())
def test_the_schema_check_rejects_broken_manifests(
    validator: jsonschema.Draft4Validator, breaks: Any, error: str
) -> None:
    manifest = inference_service("flights", version=V3, storage_uri=URI, canary_percent=10)
    breaks(manifest)
    errors = _errors(validator, manifest)
    assert len(errors) == 1 and errors[0].startswith(error), errors


def test_json_schema_alone_accepts_unknown_fields(validator: jsonschema.Draft4Validator) -> None:
    """Why the declared-fields walk exists: the CRD schema has no additionalProperties: false,
    so a typo validates (and the API server would drop or reject it)."""
    manifest = inference_service("flights", version=V3, storage_uri=URI)
    manifest["spec"]["predictor"]["canaryTrafficPercentage"] = 10
    assert list(validator.iter_errors(manifest)) == []
    # And canaryTrafficPercent has no bounds there: 0-100 is ours to check.
    manifest["spec"]["predictor"]["canaryTrafficPercent"] = 250
    assert list(validator.iter_errors(manifest)) == []


# -- names -----------------------------------------------------------------------------------

NAMES = {
    "flights": "flights",
    "Flights": "flights",
    "flights.delay": "flights-delay",
    "flights_delay_v2": "flights-delay-v2",
    "FLIGHTS__Delay..v2": "flights-delay-v2",
    "a.-_b": "a-b",
    "model-": "model",
    "model_": "model",
    "model.": "model",
    "x": "x",
    "X.": "x",
    "2024_churn": "seismo-2024-churn",
    "9": "seismo-9",
    "0.1.2": "seismo-0-1-2",
    "a" * 45: "a" * 45,
    "x" + "-" * 126 + "y": "x-y",  # separators collapse before the length counts
}


@pytest.mark.parametrize(("model", "expected"), NAMES.items())
def test_names_map_to_readable_dns_1035_labels(model: str, expected: str) -> None:
    assert MODEL_NAME.fullmatch(model)
    assert kubernetes_name(model) == expected
    assert K8S_DNS1035.match(expected) and len(expected) <= 63


LONG = [
    "a" * 46,
    "a" * 128,
    "A" * 127 + "_",
    "9" * 128,
    "churn." * 21 + "xy",
    "Fraud_Detection.Model-" + "v" * 100,
]


@pytest.mark.parametrize("model", LONG)
def test_long_names_are_cut_with_a_hash_of_the_seismo_name(model: str) -> None:
    assert MODEL_NAME.fullmatch(model), model
    name = kubernetes_name(model)
    assert K8S_DNS1035.match(name) and len(name) <= MAX_NAME_LENGTH
    assert re.fullmatch(r"[a-z0-9-]{27,36}-[0-9a-f]{8}", name), name
    assert kubernetes_name(model) == name  # deterministic


def test_long_names_that_share_a_beginning_stay_apart() -> None:
    names = {kubernetes_name("model_" + "x" * 100 + suffix) for suffix in ("a", "b", "c", "d")}
    assert len(names) == 4
    # KServe's derived names fit a DNS label too.
    for name in names:
        for derived in (f"{name}-predictor-00001", f"latest-{name}-predictor"):
            assert K8S_DNS1035.match(derived) and len(derived) <= 63, derived


@given(st.from_regex(MODEL_NAME, fullmatch=True))
def test_every_seismo_name_maps_to_a_dns_1035_label(model: str) -> None:
    name = kubernetes_name(model)
    assert K8S_DNS1035.match(name) and DNS1035_LABEL.fullmatch(name)
    assert len(name) <= MAX_NAME_LENGTH


@pytest.mark.parametrize(
    "model",
    ["", "-flights", ".flights", "_flights", "flights/v2", "flights v2", "flüge", "a" * 129,
     "flights\n", "../etc"],
)  # fmt: skip
def test_names_seismo_would_not_register_are_refused(model: str) -> None:
    with pytest.raises(InputError, match=r"^model name .*cannot be made a Kubernetes name"):
        kubernetes_name(model)


# -- storage ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("s3://ml-models/seismo", "s3://ml-models/seismo/flights/v3/"),
        ("s3://ml-models/seismo/", "s3://ml-models/seismo/flights/v3/"),
        ("s3://ml-models", "s3://ml-models/flights/v3/"),
        ("gs://bucket/a/b", "gs://bucket/a/b/flights/v3/"),
        ("pvc://models-pvc/seismo", "pvc://models-pvc/seismo/flights/v3/"),
        ("hdfs://namenode/models", "hdfs://namenode/models/flights/v3/"),
        (
            "https://acct.blob.core.windows.net/models",
            "https://acct.blob.core.windows.net/models/flights/v3/",
        ),
    ],
)
def test_storage_uri_is_the_version_folder_of_the_models_dir_copy(root: str, expected: str) -> None:
    assert model_storage_uri(root, V3) == expected


@pytest.mark.parametrize(
    "root",
    ["", "seismo-data/models", "/srv/models", "file:///srv/models", "s3://", "s3:///",
     "https://example.com/models", "http://example.com/models", "ftp://host/models",
     "s3://bucket/my models", 42],
)  # fmt: skip
def test_storage_roots_the_cluster_cannot_read_as_a_folder_are_refused(root: Any) -> None:
    with pytest.raises(InputError, match=r"^storage_root"):
        model_storage_uri(root, V3)


def test_a_registered_model_is_served_from_its_models_dir_folder(tmp_path: Path) -> None:
    """The registry's layout and the URI agree, and the folder the URI names holds what KServe's
    scikit-learn server loads: exactly one .joblib/.pkl/.pickle file, which predicts from a
    v1 request whose instances are mappings of columns (turned into a DataFrame)."""
    import joblib

    from tests.service.conftest import fit_pipeline

    models_dir = tmp_path / "models"
    model_file = tmp_path / "cancer.joblib"
    joblib.dump(fit_pipeline(training_frame()), model_file)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", upgrade=True)
    reference = seismo.fit_reference(
        training_frame(300), {"columns": {"malignant": {"role": "target"}}}
    )
    try:
        for _ in range(2):
            register_model(
                store,
                "Breast.Cancer",
                reference=reference,
                model_file=model_file,
                models_dir=models_dir,
            )
        version = store.get_model_version("Breast.Cancer")
    finally:
        store.close()
    assert version is not None and version.version == 2
    root = "pvc://models-pvc/seismo"
    uri = model_storage_uri(root, version)
    manifest = inference_service("Breast.Cancer", version=version, storage_uri=uri)
    assert manifest["metadata"]["name"] == "breast-cancer"
    folder = models_dir / PurePath(uri.removeprefix(root + "/"))
    assert Path(version.artifact or "") == folder / "cancer.joblib"
    loadable = [p for p in folder.iterdir() if p.suffix in (".joblib", ".pkl", ".pickle")]
    assert loadable == [folder / "cancer.joblib"]
    # A v1 request of two instances, each a mapping of columns; sklearnserver's
    # get_predict_input makes one DataFrame of them.
    rows = training_frame(3, seed=9)[FEATURES]
    instances = [rows.iloc[:1].to_dict(orient="list"), rows.iloc[1:].to_dict(orient="list")]
    inputs = pd.concat([pd.DataFrame(instance) for instance in instances], axis=0)
    predictions = joblib.load(loadable[0]).predict(inputs)
    assert len(predictions) == 3 and set(predictions) <= {"no", "yes"}


# -- refusals --------------------------------------------------------------------------------

REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "percent below 0": ({"canary_percent": -1}, "canary_percent"),
    "percent above 100": ({"canary_percent": 101}, "canary_percent"),
    "percent as a string": ({"canary_percent": "10"}, "canary_percent"),
    "percent as a float": ({"canary_percent": 10.0}, "canary_percent"),
    "percent as a bool": ({"canary_percent": True}, "canary_percent"),
    "canary in Standard mode": (
        {"canary_percent": 10, "deployment_mode": "Standard"},
        "canary_percent: KServe ignores",
    ),
    "canary in RawDeployment mode": (
        {"canary_percent": 10, "deployment_mode": "RawDeployment"},
        "canary_percent: KServe ignores",
    ),
    "unknown deployment mode": ({"deployment_mode": "serverless"}, "deployment_mode"),
    "served elsewhere": ({"version": _version(artifact=None)}, "artifact: .* served elsewhere"),
    "not a file the runtime loads": (
        {"version": _version(artifact="seismo-data/models/flights/v3/model.bin")},
        "artifact: .* loads only a file ending in .joblib, .pkl, .pickle",
    ),
    "not in the models_dir layout": (
        {"version": _version(artifact="/tmp/model.joblib")},
        "artifact: .* not in seismo's models_dir layout",
    ),
    "another version's folder": (
        {"version": _version(artifact="seismo-data/models/flights/v2/model.joblib")},
        "artifact: .* not in seismo's models_dir layout",
    ),
    "not a scikit-learn task": ({"version": _version(task="ranking")}, "task: "),
    "another model's version": (
        {"version": _version("delays", artifact="seismo-data/models/flights/v3/model.joblib")},
        "version: .* of model 'delays'",
    ),
    "not a version": ({"version": "3"}, "version: expected a registered ModelVersion"),
    "empty storage uri": ({"storage_uri": ""}, "storage_uri"),
    "local storage path": ({"storage_uri": "/srv/models/flights/v3"}, "storage_uri"),
    "file storage uri": ({"storage_uri": "file:///srv/models/flights/v3"}, "storage_uri"),
    "storage uri without a path": ({"storage_uri": "s3://"}, "storage_uri"),
    "storage uri with a space": ({"storage_uri": "s3://b/my model/"}, "storage_uri"),
    "upper-case namespace": ({"namespace": "ML"}, "namespace"),
    "namespace with an underscore": ({"namespace": "ml_prod"}, "namespace"),
    "namespace too long": ({"namespace": "n" * 64}, "namespace"),
    "service account with upper case": ({"service_account": "Reader"}, "service_account"),
    "service account with a slash": ({"service_account": "a/b"}, "service_account"),
    "negative min replicas": ({"min_replicas": -1}, "min_replicas"),
    "float min replicas": ({"min_replicas": 1.5}, "min_replicas"),
    "bool min replicas": ({"min_replicas": True}, "min_replicas"),
    "zero max replicas": ({"max_replicas": 0}, "max_replicas"),
    "min above max": ({"min_replicas": 3, "max_replicas": 2}, "min_replicas: 3 is more"),
    "resources not requests/limits": ({"resources": {"cpu": "1"}}, "resources: unknown key"),
    "empty resources": ({"resources": {}}, "resources: expected a mapping"),
    "resources not a mapping": ({"resources": "2Gi"}, "resources: expected a mapping"),
    "limits not a mapping": ({"resources": {"limits": "2Gi"}}, r"resources\.limits"),
    "quantity with a space": (
        {"resources": {"limits": {"memory": "2 GB"}}},
        r"resources\.limits\.memory: '2 GB' is not a Kubernetes quantity",
    ),
    "quantity as a float": (
        {"resources": {"requests": {"cpu": 0.5}}},
        r"resources\.requests\.cpu: 0\.5 is not",
    ),
    "negative quantity": ({"resources": {"requests": {"cpu": "-1"}}}, r"resources\.requests\.cpu"),
    "label key with a space": ({"labels": {"my team": "a"}}, "labels: key 'my team'"),
    "label value too long": ({"labels": {"team": "t" * 64}}, "labels: the value"),
    "label value with a slash": ({"labels": {"team": "a/b"}}, "labels: the value"),
    "label value not a string": ({"labels": {"replicas": 3}}, "labels: the value of 'replicas'"),
    "seismo's label": ({"labels": {"seismo.dev/version": "9"}}, "labels: key .* set by seismo"),
    "seismo's annotation": (
        {"annotations": {"seismo.dev/model": "x"}},
        "annotations: key .* set by seismo",
    ),
    "deployment mode as an annotation": (
        {"annotations": {"serving.kserve.io/deploymentMode": "Knative"}},
        "annotations: key .* set by seismo.*deployment_mode",
    ),
    "annotation key with a bad prefix": (
        {"annotations": {"Example.com/owner": "x"}},
        "annotations: key 'Example.com/owner'",
    ),
    "labels not a mapping": ({"labels": ["team"]}, "labels: expected a mapping"),
}


@pytest.mark.parametrize(("options", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_inputs_kserve_could_not_serve_are_refused_naming_the_field(
    options: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"version": V3, "storage_uri": URI, **options}
    with pytest.raises(InputError, match=f"^{message}"):
        inference_service("flights", **arguments)


def test_an_invalid_model_name_is_refused_before_anything_else() -> None:
    with pytest.raises(InputError, match=r"^model name 'flights/v3'"):
        inference_service("flights/v3", version=V3, storage_uri=URI)


def test_model_storage_uri_refuses_versions_kserve_cannot_load() -> None:
    with pytest.raises(InputError, match=r"^artifact: .* served elsewhere"):
        model_storage_uri("s3://ml-models/seismo", _version(artifact=None))
