"""A KServe ``InferenceService`` for a registered model version, with an optional canary.

For teams that serve on Kubernetes with `KServe <https://kserve.github.io/website/>`_:
:func:`inference_service` turns a hosted seismo model version (a joblib scikit-learn file)
into a ``serving.kserve.io/v1beta1`` ``InferenceService`` for KServe's scikit-learn runtime,
as a plain dict; :func:`to_yaml` prints it for ``kubectl apply -f -``. The cluster reads the
model file from object storage or a volume, not from this machine: copy seismo's model
directory there once per registration (it is laid out ``<models_dir>/<name>/v<version>/<file>``)
and :func:`model_storage_uri` names one version's folder in the copy::

    aws s3 sync seismo-data/models s3://ml-models/seismo      # or gsutil rsync, a PVC, ...

    manifest = inference_service(
        "flights", version=v3,
        storage_uri=model_storage_uri("s3://ml-models/seismo", v3),  # .../flights/v3/
        canary_percent=10,
    )
    print(to_yaml(manifest))                                   # | kubectl apply -f -

Canary semantics (KServe's, in Knative mode; see :func:`inference_service`): an
``InferenceService`` holds one predictor spec. Applying a changed spec makes a new revision;
with ``canaryTrafficPercent: P`` the new revision gets P% of the traffic and the last revision
that had 100% keeps the rest. So the canary manifest carries the *challenger's* storage URI
and the percent; promoting is applying the challenger's manifest without a percent, rolling
back is applying it with percent 0. The service is named after the seismo model
(:func:`kubernetes_name`), so every version of a model updates the same service.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

import yaml

from seismo.errors import InputError
from seismo.loop.models import MODEL_NAME, TASKS
from seismo.store.base import ModelVersion

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"

#: The file names KServe's scikit-learn server loads (``sklearnserver/model.py``): the one file
#: in the model folder with one of these extensions.
SKLEARN_MODEL_FILES = (".joblib", ".pkl", ".pickle")

#: Longest service name made. KServe names the predictor ``<name>-predictor``, Knative its
#: revisions ``<name>-predictor-00001`` and tagged routes ``latest-<name>-predictor``; each
#: must be a DNS label of at most 63 characters.
MAX_NAME_LENGTH = 45

#: Label and annotation keys seismo sets; they record which model version a spec serves.
MODEL_KEY = "seismo.dev/model"
VERSION_KEY = "seismo.dev/version"
DEPLOYMENT_MODE_KEY = "serving.kserve.io/deploymentMode"

#: Values of KServe's deployment-mode annotation ("Serverless" and "RawDeployment" are the
#: names before KServe 0.16). Only Knative mode honours ``canaryTrafficPercent``.
DEPLOYMENT_MODES = ("Knative", "Serverless", "Standard", "RawDeployment")

#: URI schemes KServe's storage initializer reads (``kserve_storage.py``; ``pvc://`` is
#: mounted by the controller).
STORAGE_SCHEMES = ("s3", "gs", "pvc", "hdfs", "webhdfs", "https", "http", "hf", "oci")
#: Schemes whose URIs name a folder, so that ``<root>/<name>/v<version>/`` can be read whole.
FOLDER_SCHEMES = ("s3", "gs", "pvc", "hdfs", "webhdfs")
_AZURE_STORAGE = re.compile(  # blob containers and file shares
    r"https://[^/]+\.(blob\.core\.windows\.net|z[0-9]{1,2}\.blob\.storage\.azure\.net"
    r"|file\.core\.windows\.net|z[0-9]{1,2}\.file\.storage\.azure\.net)/[^/].*"
)

# Kubernetes name syntax (k8s.io/apimachinery/pkg/util/validation).
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_QUANTITY = re.compile(  # resource.Quantity, as the CRD's pattern spells it
    r"(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)


def kubernetes_name(model: str) -> str:
    """The ``InferenceService`` name of a seismo model: a DNS-1035 label (RFC 1035).

    Lower case, each run of ``.``, ``_`` and ``-`` made one ``-``; a name that then starts
    with a digit gets the prefix ``seismo-``; a name longer than :data:`MAX_NAME_LENGTH` is
    cut and ends in ``-`` and 8 hex digits of the SHA-256 of the seismo name, so long names
    that share a beginning stay apart. Names that differ only in case or in those separators
    (``Flights_v2`` and ``flights.v2``) map to the same service: deploy only one of them to
    a namespace. Raises :class:`~seismo.errors.InputError` for a name seismo would not
    register (see ``seismo.loop.models.MODEL_NAME``).

    Examples
    --------
    >>> kubernetes_name("Flights.Delay_v2")
    'flights-delay-v2'
    >>> kubernetes_name("2024__churn")
    'seismo-2024-churn'
    >>> kubernetes_name("x" * 128)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-24da1b81'
    """
    if not isinstance(model, str) or not MODEL_NAME.fullmatch(model):
        raise InputError(
            f"model name {model!r}: cannot be made a Kubernetes name; a seismo model name "
            "has 1 to 128 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    name = re.sub(r"[._-]+", "-", model.lower()).strip("-")
    if not name[0].isalpha():
        name = "seismo-" + name
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(model.encode()).hexdigest()[:8]
        name = name[: MAX_NAME_LENGTH - len(digest) - 1].rstrip("-") + "-" + digest
    assert DNS1035_LABEL.fullmatch(name) and len(name) <= MAX_NAME_LENGTH, name
    return name


def model_storage_uri(storage_root: str, version: ModelVersion) -> str:
    """Where the cluster reads ``version``: ``<storage_root>/<model>/v<version>/``.

    ``storage_root`` is the copy of seismo's ``models_dir`` the cluster can read, e.g.
    ``s3://ml-models/seismo``, ``gs://...``, ``pvc://models-pvc/seismo`` or an Azure Blob
    container URL; copy ``models_dir`` there (``aws s3 sync``, ``gsutil rsync``, ...) after
    each registration. The trailing ``/`` matters: KServe reads an S3 or GCS URI as a key
    prefix, and ``.../v3`` would also take the files of ``.../v30``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> v3 = ModelVersion("flights", 3, "classification", b"", datetime(2024, 1, 1, tzinfo=UTC),
    ...                   artifact="seismo-data/models/flights/v3/model.joblib")
    >>> model_storage_uri("s3://ml-models/seismo/", v3)
    's3://ml-models/seismo/flights/v3/'
    """
    if not isinstance(storage_root, str):
        raise InputError(f"storage_root: expected a URI string, got {storage_root!r}")
    scheme, _, rest = storage_root.partition("://")
    folder = scheme in FOLDER_SCHEMES or bool(_AZURE_STORAGE.fullmatch(storage_root))
    if not rest.strip("/") or not folder or any(c.isspace() for c in storage_root):
        raise InputError(
            f"storage_root {storage_root!r}: give the URI of the folder the cluster reads the "
            f"copy of models_dir from ({', '.join(s + '://' for s in FOLDER_SCHEMES)} or an "
            "Azure Blob URL); a local path is not visible to the cluster, and a plain http(s) "
            "URL names one file (pass it to inference_service as storage_uri)"
        )
    _hosted_file(version)  # the folder holds a file the runtime loads
    return f"{storage_root.rstrip('/')}/{version.model}/v{version.version}/"


def inference_service(
    name: str,
    *,
    version: ModelVersion,
    storage_uri: str,
    canary_percent: int | None = None,
    namespace: str | None = None,
    service_account: str | None = None,
    min_replicas: int | None = None,
    max_replicas: int | None = None,
    resources: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    deployment_mode: str | None = None,
) -> dict[str, Any]:
    """The KServe ``InferenceService`` that serves ``version`` of model ``name``.

    The predictor is ``model`` with ``modelFormat: sklearn`` (KServe picks its scikit-learn
    runtime) and ``protocolVersion: v1``: requests go to ``/v1/models/<service name>:predict``
    as ``{"instances": [{feature: [value, ...], ...}]}``, each instance a mapping of columns
    that the runtime turns into a DataFrame with named columns (as seismo's own service hands
    rows to the model; a pipeline fitted on a DataFrame needs them), or as rows of values in
    the order of ``version.features``. The runtime loads the one ``.joblib``, ``.pkl`` or
    ``.pickle`` file under ``storage_uri`` with its own scikit-learn (1.5 in KServe 0.20), so
    the file must unpickle there: same scikit-learn minor version, no classes from your own
    modules. Labels record the service's model (:func:`kubernetes_name`) and version for
    selection; annotations record the exact seismo name and version.

    Canary (``canary_percent``). KServe keeps, per service, the *last revision that received
    100% of the traffic*. Applying a manifest with ``canaryTrafficPercent: P`` makes a new
    revision from the new spec and routes P% to it and 100 - P% to that last fully rolled-out
    revision. The steps of a rollout of challenger v3 over champion v2:

    1. v2 serves: its manifest was applied without a percent, so it has 100%.
    2. Canary: apply v3's manifest with ``canary_percent=10`` -> v3 10%, v2 90%. Raising the
       percent is applying v3's manifest again with the new percent.
    3. Promote: apply v3's manifest without a percent -> v3 100%; it is now the revision a
       later canary splits with.
    4. Roll back instead: apply v3's manifest with ``canary_percent=0`` -> v2 100% at once
       (v3's revision stays, idle); applying v2's manifest without a percent later makes a
       fresh v2 revision the fully rolled-out one.

    A first manifest that carries a percent gets 100% (there is no earlier revision to split
    with), so create a service from a manifest without one. KServe honours the percent only in
    Knative (serverless) mode: in Standard (raw Deployment) mode it ignores the field and the
    new spec takes all traffic. So a canary manifest carries the annotation
    ``serving.kserve.io/deploymentMode: Knative`` (``deployment_mode`` overrides it, e.g.
    ``"Serverless"`` for KServe before 0.16), and KServe refuses the update of a service
    running in Standard mode instead of silently sending it all traffic. Where the cluster's
    default mode is not Knative, pass ``deployment_mode="Knative"`` for every manifest of the
    service, the first included: KServe fixes a service's mode when it is created.

    Parameters
    ----------
    name
        The seismo model name; ``version`` must be one of its versions.
    version
        A hosted classification or regression version (``artifact`` set).
    storage_uri
        Where the cluster reads the model folder or file, e.g. from
        :func:`model_storage_uri`.
    canary_percent
        0 to 100: the share of traffic for this spec, the rest staying on the last
        fully rolled-out revision. None: this spec takes all traffic.
    namespace, service_account
        Kubernetes namespace of the service; service account of its pods (the usual way to
        give them the storage credentials).
    min_replicas, max_replicas
        Autoscaling bounds (``min_replicas=0`` lets Knative scale to zero).
    resources
        The model container's ``requests`` and/or ``limits``, e.g.
        ``{"requests": {"cpu": "1", "memory": "2Gi"}}``.
    labels, annotations
        More metadata; the ``seismo.dev/`` keys are seismo's.
    deployment_mode
        Value of ``serving.kserve.io/deploymentMode``: one of :data:`DEPLOYMENT_MODES`.
        Default: none (the cluster's default mode), or ``Knative`` with a canary percent.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> v3 = ModelVersion("flights", 3, "classification", b"", datetime(2024, 1, 1, tzinfo=UTC),
    ...                   artifact="seismo-data/models/flights/v3/model.joblib")
    >>> manifest = inference_service("flights", version=v3, canary_percent=10,
    ...                              storage_uri="s3://ml-models/seismo/flights/v3/")
    >>> print(to_yaml(manifest), end="")
    apiVersion: serving.kserve.io/v1beta1
    kind: InferenceService
    metadata:
      name: flights
      labels:
        seismo.dev/model: flights
        seismo.dev/version: '3'
      annotations:
        seismo.dev/model: flights
        seismo.dev/version: '3'
        serving.kserve.io/deploymentMode: Knative
    spec:
      predictor:
        canaryTrafficPercent: 10
        model:
          modelFormat:
            name: sklearn
          protocolVersion: v1
          storageUri: s3://ml-models/seismo/flights/v3/
    """
    service_name = kubernetes_name(name)
    if not isinstance(version, ModelVersion):
        raise InputError(f"version: expected a registered ModelVersion, got {version!r}")
    if version.model != name:
        raise InputError(
            f"version: is version {version.version} of model {version.model!r}, not of {name!r}"
        )
    if version.task not in TASKS:
        raise InputError(
            f"task: model {name!r} v{version.version} is a {version.task!r} model; KServe's "
            f"scikit-learn runtime serves {' and '.join(TASKS)} models"
        )
    _hosted_file(version)
    _check_storage_uri(storage_uri)
    if canary_percent is not None and (
        not _is_int(canary_percent) or not 0 <= canary_percent <= 100
    ):
        raise InputError(
            f"canary_percent: give a whole number from 0 to 100, got {canary_percent!r}"
        )
    if deployment_mode is not None and deployment_mode not in DEPLOYMENT_MODES:
        raise InputError(
            f"deployment_mode: give one of {', '.join(DEPLOYMENT_MODES)}, got {deployment_mode!r}"
        )
    if canary_percent is not None:
        if deployment_mode in ("Standard", "RawDeployment"):
            raise InputError(
                f"canary_percent: KServe ignores canaryTrafficPercent in {deployment_mode} mode "
                "(the new spec would take all traffic); use Knative mode for a canary"
            )
        deployment_mode = deployment_mode or "Knative"
    if namespace is not None:
        _check_name("namespace", namespace, _DNS1123_LABEL, 63)
    if service_account is not None:
        _check_name("service_account", service_account, _DNS1123_SUBDOMAIN, 253)
    _check_replicas(min_replicas, max_replicas)

    metadata: dict[str, Any] = {"name": service_name}
    if namespace is not None:
        metadata["namespace"] = namespace
    number = str(version.version)
    metadata["labels"] = {
        **_metadata("labels", labels, values_are_labels=True),
        MODEL_KEY: service_name,
        VERSION_KEY: number,
    }
    metadata["annotations"] = {
        **_metadata("annotations", annotations, values_are_labels=False),
        MODEL_KEY: name,
        VERSION_KEY: number,
    }
    if deployment_mode is not None:
        metadata["annotations"][DEPLOYMENT_MODE_KEY] = deployment_mode

    predictor: dict[str, Any] = {}
    if canary_percent is not None:
        predictor["canaryTrafficPercent"] = canary_percent
    if min_replicas is not None:
        predictor["minReplicas"] = min_replicas
    if max_replicas is not None:
        predictor["maxReplicas"] = max_replicas
    if service_account is not None:
        predictor["serviceAccountName"] = service_account
    model: dict[str, Any] = {
        "modelFormat": {"name": "sklearn"},
        "protocolVersion": "v1",
        "storageUri": storage_uri,
    }
    if resources is not None:
        model["resources"] = _resources(resources)
    predictor["model"] = model
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }


def to_yaml(manifest: Mapping[str, Any]) -> str:
    """The manifest as a YAML document, keys in the order built, for ``kubectl apply -f -``."""
    return yaml.safe_dump(_plain(manifest), sort_keys=False, default_flow_style=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hosted_file(version: ModelVersion) -> str:
    """The model file name, after checking KServe's runtime can find it in seismo's layout."""
    where = f"model {version.model!r} v{version.version}"
    if version.artifact is None:
        raise InputError(
            f"artifact: {where} is served elsewhere (registered without a model file); "
            "KServe needs a hosted version: register it with --model"
        )
    path = PurePath(version.artifact)
    if not path.name.endswith(SKLEARN_MODEL_FILES):
        raise InputError(
            f"artifact: {where} is {path.name!r}; KServe's scikit-learn runtime loads only a "
            f"file ending in {', '.join(SKLEARN_MODEL_FILES)}: register it again under such a name"
        )
    if path.parent.name != f"v{version.version}" or path.parent.parent.name != version.model:
        raise InputError(
            f"artifact: {where} is {version.artifact!r}, not in seismo's models_dir layout "
            f"<models_dir>/{version.model}/v{version.version}/<file>"
        )
    return path.name


def _check_storage_uri(storage_uri: object) -> None:
    scheme, _, rest = storage_uri.partition("://") if isinstance(storage_uri, str) else ("", "", "")
    if (
        scheme not in STORAGE_SCHEMES
        or not rest.strip("/")
        or any(c.isspace() for c in str(storage_uri))
    ):
        raise InputError(
            f"storage_uri {storage_uri!r}: give a URI the cluster can read, with a scheme "
            f"KServe supports ({', '.join(s + '://' for s in STORAGE_SCHEMES)})"
        )


def _check_name(field: str, value: object, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
        raise InputError(
            f"{field} {value!r}: not a valid Kubernetes name (lower-case letters, digits and "
            f"'-'{', and dots' if pattern is _DNS1123_SUBDOMAIN else ''}, at most {limit} "
            "characters, starting and ending with a letter or digit)"
        )


def _whole_number(field: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InputError(f"{field}: give a whole number >= {least}, got {value!r}")
    return value


def _check_replicas(min_replicas: object, max_replicas: object) -> None:
    least = None if min_replicas is None else _whole_number("min_replicas", min_replicas, 0)
    most = None if max_replicas is None else _whole_number("max_replicas", max_replicas, 1)
    if least is not None and most is not None and least > most:
        raise InputError(f"min_replicas: {least} is more than max_replicas {most}")


def _check_key(field: str, key: object) -> str:
    """A label or annotation key: an optional DNS subdomain prefix and '/', then a name."""
    prefix, _, name = key.rpartition("/") if isinstance(key, str) else ("", "", "")
    if (
        not isinstance(key, str)
        or not name
        or len(name) > 63
        or not _QUALIFIED_NAME.fullmatch(name)
        or ("/" in key and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)))
    ):
        raise InputError(
            f"{field}: key {key!r} is not a valid Kubernetes key ([prefix/]name: a name of at "
            "most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or "
            "digit; an optional DNS-subdomain prefix)"
        )
    if prefix == MODEL_KEY.partition("/")[0] or key == DEPLOYMENT_MODE_KEY:
        raise InputError(
            f"{field}: key {key!r} is set by seismo; use another key"
            + (" (or the deployment_mode argument)" if key == DEPLOYMENT_MODE_KEY else "")
        )
    return key


def _metadata(
    field: str, given: Mapping[str, str] | None, *, values_are_labels: bool
) -> dict[str, str]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InputError(f"{field}: expected a mapping of keys to strings, got {given!r}")
    checked: dict[str, str] = {}
    for key, value in given.items():
        _check_key(field, key)
        if not isinstance(value, str):
            raise InputError(f"{field}: the value of {key!r} must be a string, got {value!r}")
        if (
            values_are_labels
            and value
            and (len(value) > 63 or not _QUALIFIED_NAME.fullmatch(value))
        ):
            raise InputError(
                f"{field}: the value {value!r} of {key!r} is not a valid label value (at most "
                "63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)"
            )
        checked[key] = value
    return checked


def _resources(resources: Mapping[str, Any]) -> dict[str, dict[str, str | int]]:
    if not isinstance(resources, Mapping) or not resources:
        raise InputError(
            "resources: expected a mapping with 'requests' and/or 'limits', e.g. "
            f"{{'requests': {{'cpu': '1', 'memory': '2Gi'}}}}, got {resources!r}"
        )
    checked: dict[str, dict[str, str | int]] = {}
    for kind, amounts in resources.items():
        if kind not in ("requests", "limits"):
            raise InputError(f"resources: unknown key {kind!r}; give 'requests' and/or 'limits'")
        if not isinstance(amounts, Mapping):
            raise InputError(
                f"resources.{kind}: expected a mapping of resource names to quantities, "
                f"got {amounts!r}"
            )
        checked[kind] = {}
        for resource, amount in amounts.items():
            where = f"resources.{kind}.{resource}"
            if not isinstance(resource, str) or not resource:
                raise InputError(f"resources.{kind}: resource names are strings, got {resource!r}")
            if _is_int(amount):
                if amount < 0:
                    raise InputError(f"{where}: a quantity cannot be negative, got {amount}")
            elif not isinstance(amount, str) or not _QUANTITY.fullmatch(amount) or amount[0] == "-":
                raise InputError(
                    f"{where}: {amount!r} is not a Kubernetes quantity (e.g. '500m', '2', "
                    "'512Mi', '2Gi'; give it as a string)"
                )
            checked[kind][resource] = amount
    return checked
