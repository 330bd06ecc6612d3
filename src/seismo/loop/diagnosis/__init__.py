"""Root-cause diagnosis: why a window (or any table) differs from the reference.

A change is explained as one of five causes (:class:`Cause`) with the action it calls for
(:class:`Action`): ``pipeline_error`` (:mod:`.pipeline`, from profiles; :mod:`.rows`, from raw
rows), ``covariate_drift``, ``concept_drift`` and ``prior_shift`` (:mod:`.labels`, which needs
labels) and ``none``. :func:`diagnose_profiles` works on profiles alone (the monitor's stored
windows); :func:`diagnose_tables` adds what raw rows, labels and a model can tell.
"""

from seismo.loop.diagnosis.pipeline import (
    UNIT_FACTORS,
    UNIT_SCALES,
    PipelinePolicy,
    diagnose_profiles,
    pipeline_findings,
)
from seismo.loop.diagnosis.result import Action, Cause, Diagnosis, Finding

__all__ = [
    "UNIT_FACTORS",
    "UNIT_SCALES",
    "Action",
    "Cause",
    "Diagnosis",
    "Finding",
    "PipelinePolicy",
    "diagnose_profiles",
    "pipeline_findings",
]
