"""The drift policy's settings; every default is documented in README ("Statistical policy")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from seismo.errors import InputError
from seismo.schema.types import Kind

TESTS = ("ks", "chi2", "ztest")
EFFECTS = ("psi", "jensen_shannon")

DEFAULT_TESTS: dict[Kind, str] = {
    Kind.NUMERIC: "ks",
    Kind.CATEGORICAL: "chi2",
    Kind.BOOLEAN: "ztest",
}


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """When a column counts as drifted.

    A column is drifted when both hold:

    * its test (``tests[kind]``: KS for numeric, chi-squared for categorical, two-proportion
      z-test for boolean) is significant at ``alpha`` after Benjamini-Hochberg across the
      report's tested columns, and
    * its effect size (``effect``: PSI on the 10 reference-decile bins or the categories) exceeds
      the threshold: the larger of the floor (``psi_floor``) and, with
      ``thresholds="calibrated"``, the ``calibration_quantile`` of the effect between the
      reference and resampled windows of the current size drawn from the reference itself
      (``bootstrap`` draws). With ``thresholds="static"`` the floor alone is the threshold.

    A drifted column's severity is ``high`` when the effect reaches ``high`` (PSI 0.25 by the
    usual bands), else ``moderate``. The dataset is drifted when more than ``drift_share`` of
    the tested features drifted (default 0: any drifted feature).
    """

    alpha: float = 0.05
    thresholds: Literal["calibrated", "static"] = "calibrated"
    effect: Literal["psi", "jensen_shannon"] = "psi"
    floor: float | None = None
    high: float | None = None
    calibration_quantile: float = 0.99
    bootstrap: int = 1000
    drift_share: float = 0.0
    seed: int = 0
    tests: dict[Kind, str] = field(default_factory=lambda: dict(DEFAULT_TESTS))

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise InputError(f"drift config: alpha must be in (0, 1), got {self.alpha}")
        if self.thresholds not in ("calibrated", "static"):
            raise InputError(
                "drift config: thresholds must be 'calibrated' or 'static', "
                f"got {self.thresholds!r}"
            )
        if self.effect not in EFFECTS:
            raise InputError(f"drift config: effect must be one of {EFFECTS}, got {self.effect!r}")
        if not 0.5 <= self.calibration_quantile < 1:
            raise InputError("drift config: calibration_quantile must be in [0.5, 1)")
        if self.bootstrap < 50:
            raise InputError("drift config: bootstrap needs at least 50 draws")
        if not 0 <= self.drift_share < 1:
            raise InputError("drift config: drift_share must be in [0, 1)")
        for kind, test in self.tests.items():
            if test not in TESTS:
                raise InputError(
                    f"drift config: unknown test {test!r} for {kind}; use one of {TESTS}"
                )

    @property
    def effect_floor(self) -> float:
        """Practical floor: PSI 0.1 (the 'moderate' band) or Jensen-Shannon distance 0.1."""
        return self.floor if self.floor is not None else 0.1

    @property
    def effect_high(self) -> float:
        """Effect at which severity is high: PSI 0.25 or Jensen-Shannon distance 0.2."""
        if self.high is not None:
            return self.high
        return 0.25 if self.effect == "psi" else 0.2
