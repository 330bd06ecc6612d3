"""The closed loop: root-cause diagnosis of a change (retrain trigger, validation and rollout
build on it)."""

from seismo.loop.diagnosis import (
    Action,
    Cause,
    Diagnosis,
    Finding,
    PipelinePolicy,
    diagnose_profiles,
    pipeline_findings,
)

__all__ = [
    "Action",
    "Cause",
    "Diagnosis",
    "Finding",
    "PipelinePolicy",
    "diagnose_profiles",
    "pipeline_findings",
]
