"""Root-cause diagnosis: why a window (or any table) differs from the reference.

A change is explained as one of five causes (:class:`Cause`) with the action it calls for
(:class:`Action`), asked in the order of :mod:`.engine`: ``pipeline_error`` (:mod:`.pipeline`
from profiles, :mod:`.raw` from raw rows), then ``prior_shift`` and ``concept_drift``
(:mod:`.labels`, which needs labels in both tables), then ``covariate_drift`` and ``none``.
:func:`diagnose_profiles` works on profiles alone (the monitor's stored windows);
:func:`diagnose_tables` adds what raw rows, labels and a model can tell.
"""

from seismo.loop.diagnosis.engine import diagnose_profiles, diagnose_tables
from seismo.loop.diagnosis.labels import LabelPolicy
from seismo.loop.diagnosis.pipeline import (
    UNIT_FACTORS,
    UNIT_SCALES,
    PipelinePolicy,
    pipeline_findings,
)
from seismo.loop.diagnosis.raw import RawPolicy
from seismo.loop.diagnosis.result import Action, Cause, Diagnosis, Finding
from seismo.loop.diagnosis.rows import Rows, read_rows

__all__ = [
    "UNIT_FACTORS",
    "UNIT_SCALES",
    "Action",
    "Cause",
    "Diagnosis",
    "Finding",
    "LabelPolicy",
    "PipelinePolicy",
    "RawPolicy",
    "Rows",
    "diagnose_profiles",
    "diagnose_tables",
    "pipeline_findings",
    "read_rows",
]
