"""The closed loop: root-cause diagnosis of a change, and validation of a retrained model
against the serving one (retrain trigger and rollout build on them)."""

from seismo.loop.diagnosis import (
    Action,
    Cause,
    Diagnosis,
    Finding,
    PipelinePolicy,
    diagnose_profiles,
    pipeline_findings,
)
from seismo.loop.validation import (
    BootstrapResult,
    Comparison,
    DeLongResult,
    McNemarResult,
    SegmentComparison,
    compare_models,
    delong,
    mcnemar,
    mcnemar_table,
    paired_bootstrap,
)

__all__ = [
    "Action",
    "BootstrapResult",
    "Cause",
    "Comparison",
    "DeLongResult",
    "Diagnosis",
    "Finding",
    "McNemarResult",
    "PipelinePolicy",
    "SegmentComparison",
    "compare_models",
    "delong",
    "diagnose_profiles",
    "mcnemar",
    "mcnemar_table",
    "paired_bootstrap",
    "pipeline_findings",
]
