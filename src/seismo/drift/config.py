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
    * the change is large enough to matter: one of its effect sizes reaches that effect's
      threshold. The effects are ``effect`` (PSI on the 10 reference-decile bins or the
      categories, or the Jensen-Shannon distance); the total variation distance on the same
      bins (TV: the share of rows that changed bin; ``total_variation_floor=None`` leaves it
      out), which PSI underrates when shares move between large categories; and, for numeric
      columns, the Wasserstein-1 distance in reference standard deviations (W/σ;
      ``wasserstein_floor=None`` leaves it out), which sees shifts that live in heavy tails or
      in tied values, where decile bins are blind. Each threshold is the larger of the
      effect's practical floor (``floor``, default 0.1 for PSI and JS;
      ``total_variation_floor``, 0.1; ``wasserstein_floor``, 0.1 σ) and, with
      ``thresholds="calibrated"``, its noise level at these sample sizes: a high quantile of
      the effect between two samples of the reference distribution of the reference's and
      the current's sizes (PSI, JS and TV: ``bootstrap`` multinomial resamples of the
      reference bins, the same draws for all; W/σ: the large-sample law of W, see
      :func:`seismo.drift.calibration.wasserstein_null_quantile`). The quantile is
      ``calibration_quantile`` split across the effects in use (Bonferroni: 0.99667 each for
      three effects at 0.99), so under no drift the chance that *any* effect clears its bar is
      at most 1 − ``calibration_quantile``. With ``thresholds="static"`` the floors alone
      are the thresholds.

    A drifted column's severity is ``high`` when PSI (or JS) reaches ``high`` (PSI 0.25 by the
    usual bands), TV reaches ``total_variation_high`` (0.25) or W/σ reaches
    ``wasserstein_high`` (0.5 σ), else ``moderate``. The dataset is drifted when more than
    ``drift_share`` of the tested features drifted (default 0: any drifted feature).
    """

    alpha: float = 0.05
    thresholds: Literal["calibrated", "static"] = "calibrated"
    effect: Literal["psi", "jensen_shannon"] = "psi"
    floor: float | None = None
    high: float | None = None
    total_variation_floor: float | None = 0.1
    total_variation_high: float = 0.25
    wasserstein_floor: float | None = 0.1
    wasserstein_high: float = 0.5
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
        for name in ("wasserstein_floor", "total_variation_floor"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise InputError(f"drift config: {name} must be positive (or None)")
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

    def calibration_level(self, effects: int) -> float:
        """Each effect's null quantile when ``effects`` effects decide (Bonferroni)."""
        return 1.0 - (1.0 - self.calibration_quantile) / max(effects, 1)

    def effects_for(self, numeric: bool) -> tuple[str, ...]:
        """The effects that decide for a numeric or a categorical/boolean column."""
        names: list[str] = [self.effect]
        if self.total_variation_floor is not None:
            names.append("total_variation")
        if numeric and self.wasserstein_floor is not None:
            names.append("wasserstein_normalized")
        return tuple(names)

    def floor_of(self, effect: str) -> float:
        """The practical floor of an effect."""
        if effect == "total_variation":
            return self.total_variation_floor or 0.0
        if effect == "wasserstein_normalized":
            return self.wasserstein_floor or 0.0
        return self.effect_floor

    def high_of(self, effect: str) -> float:
        """The effect size from which a drifted column's severity is high."""
        if effect == "total_variation":
            return self.total_variation_high
        if effect == "wasserstein_normalized":
            return self.wasserstein_high
        return self.effect_high

    @property
    def effect_high(self) -> float:
        """Effect at which severity is high: PSI 0.25 or Jensen-Shannon distance 0.2."""
        if self.high is not None:
            return self.high
        return 0.25 if self.effect == "psi" else 0.2
