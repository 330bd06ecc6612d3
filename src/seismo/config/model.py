"""seismo.yaml as one typed model: :class:`SeismoConfig`, with its sections."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue

from seismo.config.alerts import AlertsSection
from seismo.config.errors import input_error
from seismo.config.loop import LoopSection
from seismo.config.types import ConfigModel, Duration, Port, duration_text, problem
from seismo.errors import InputError

if TYPE_CHECKING:
    from seismo.monitor import MonitorSettings

DEFAULT_STORE = "sqlite:///seismo-data/seismo.db"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _off_when_empty(value: Any) -> Any:
    # ``every: 0`` (or false, or empty) has always meant "no schedule".
    return None if value in (0, "", None) else value


def _store_url(url: str) -> str:
    """A URL the store can open (the value is not shown: it may hold a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from seismo.store import SCHEMES

    examples = ", ".join(SCHEMES.values())
    scheme = url.partition("://")[0] if "://" in url else url.partition(":")[0]
    if scheme not in SCHEMES:
        raise problem(f"unknown URL scheme {scheme!r}; use one of: {examples}")
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        raise problem(f"not a database URL; write it like one of: {examples}") from None
    return url


#: The store's URL: ``sqlite:///...`` or ``postgresql+psycopg://...``.
StoreUrl = Annotated[str, AfterValidator(_store_url)]


def store_url(url: str, source: str) -> str:
    """``url`` (from ``source``, e.g. the ``--store`` option) if the store can open it."""
    try:
        return TypeAdapter(StoreUrl).validate_python(url)
    except ValidationError as error:
        raise input_error(error, source, StoreUrl) from None


class MonitorSection(ConfigModel):
    """The windowed monitor: window length, segments, rolling windows, schedule."""

    window: Duration = Field(
        default=timedelta(days=1), description="the length of a window: 15m, 1h, 1d"
    )
    segments: list[str] = Field(
        default_factory=list, description="feature columns whose values get their own series"
    )
    rolling: int = Field(default=7, ge=1, description="windows merged into a rolling window")
    every: Annotated[Duration | None, BeforeValidator(_off_when_empty)] = Field(
        default=None,
        description="how often the service runs the monitor, e.g. 5m (absent: on demand)",
    )
    max_segment_values: int = Field(
        default=100,
        ge=1,
        description="per segment column, the most frequent values that get their own series; "
        'the rest share the segment "column=(other)"',
    )

    def settings(self) -> MonitorSettings:
        from seismo.monitor import MonitorSettings

        return MonitorSettings(
            window=self.window,
            segments=tuple(self.segments),
            rolling=self.rolling,
            max_segment_values=self.max_segment_values,
        )


class AuthSection(ConfigModel):
    """Who may call the API."""

    metrics_public: bool = Field(default=False, description="GET /metrics needs no token")


_SECTIONS = ("auth", "monitor", "alerts", "loop")


class SeismoConfig(ConfigModel):
    """Everything ``seismo serve`` and ``seismo monitor run`` read from seismo.yaml; every key
    is optional. Read a file with :meth:`from_file`; errors name the file and the path."""

    store: StoreUrl = Field(
        default=DEFAULT_STORE,
        description="the store's SQLAlchemy URL: sqlite:///... or postgresql+...",
    )
    models_dir: str = Field(
        default="seismo-data/models", description="where registered model files are kept"
    )
    host: str = Field(default="127.0.0.1", description="the address the service listens on")
    port: Port = Field(default=8000, description="the port the service listens on")
    log_predictions: bool = Field(
        default=True, description="log every prediction durably before answering"
    )
    max_body_bytes: int = Field(default=16 << 20, gt=0, description="larger request bodies: 413")
    max_batch_rows: int = Field(default=10_000, gt=0, description="larger batches: 413")
    group_commit_delay: float = Field(
        default=0.002,
        ge=0,
        description="seconds the writer waits to gather concurrent writes into one commit",
    )
    max_future_skew: Duration = Field(
        default=timedelta(days=1),
        description="predictions timestamped further than this in the future are refused",
    )
    auth: AuthSection = Field(default_factory=AuthSection, description="API access")
    monitor: MonitorSection = Field(
        default_factory=MonitorSection, description="windows, segments and schedule"
    )
    alerts: AlertsSection = Field(
        default_factory=AlertsSection, description="rules, sinks and retries"
    )
    loop: LoopSection = Field(
        default_factory=LoopSection,
        description="the closed loop: retrain trigger, validation, canary or shadow rollout",
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        # ``alerts:`` with every line below commented out is null in YAML: the defaults.
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not (k in _SECTIONS and v is None)}
        return data

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str = "config",
        environ: Mapping[str, str] | None = None,
    ) -> SeismoConfig:
        """Validate ``data`` (as read from YAML) or raise one :class:`InputError` naming
        ``source`` and the path of every problem. ``environ`` (default ``os.environ``)
        resolves the ``${NAME}`` references of the sinks."""
        try:
            return cls.model_validate(data, context={"environ": environ})
        except ValidationError as error:
            raise input_error(error, source, cls) from None

    @classmethod
    def from_file(
        cls, path: str | Path, *, environ: Mapping[str, str] | None = None
    ) -> SeismoConfig:
        """Read and check a YAML file (an empty file: every default)."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: config file not found") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise InputError(f"{path}: invalid YAML{where}: {error}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else repr(data)
            raise InputError(
                f"{path}: expected a mapping of settings (store, monitor, ...), got {kind}"
            )
        return cls.from_dict(data, source=str(path), environ=environ)


class _SchemaGenerator(GenerateJsonSchema):
    def encode_default(self, dft: Any) -> Any:
        if isinstance(dft, timedelta):  # written as in the file: '1d', not ISO 8601
            return duration_text(dft)
        return super().encode_default(dft)


def json_schema() -> JsonSchemaValue:
    """The JSON Schema of seismo.yaml, for editors (VS Code's YAML extension, ...)."""
    schema = SeismoConfig.model_json_schema(schema_generator=_SchemaGenerator)
    return {"$schema": SCHEMA_DIALECT, **schema, "title": "seismo.yaml"}
