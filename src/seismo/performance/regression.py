"""Regression performance from a mergeable summary: MAE, RMSE, MAPE, R², bias, with intervals."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import InputError
from seismo.performance.intervals import Estimate, Interval, check_confidence, normal
from seismo.performance.metrics import metric_names

__all__ = ["RegressionMetrics", "RegressionSummary"]

FORMAT_VERSION = 1

# Moment fields are kept centred (mean and sums of powers of deviations from it) and merged with
# the parallel formulas of Chan et al. and Pébay (2008), so labels around 1e9 lose no precision.
_FLOAT_FIELDS = (
    "label_mean",
    "label_m2",
    "label_m3",
    "label_m4",
    "error_mean",
    "error_m2",
    "abs_error_mean",
    "abs_error_m2",
    "sq_error_mean",
    "sq_error_m2",
    "sq_error_label_c11",
    "sq_error_label_c12",
    "ape_mean",
    "ape_m2",
)


@dataclass(frozen=True, slots=True)
class RegressionMetrics:
    """Regression metrics of one summary, each an :class:`Estimate` or ``None``.

    Errors are ``prediction - label``: a positive ``bias`` means the model over-predicts.
    ``mape`` is a fraction (0.1 = 10 %), like scikit-learn's, over the rows with a non-zero label.

    Attributes
    ----------
    confidence : float
        Two-sided confidence level of the intervals.
    n : int
        Pairs used (label and prediction both finite).
    dropped : int
        Pairs dropped because the label or the prediction was NaN or infinite.
    mape_excluded : int
        Pairs left out of MAPE because the label is 0.
    mae, rmse, mape, r2, bias : Estimate or None
        ``None`` when undefined: no pairs; MAPE with no non-zero label; R² when fewer than two
        pairs or all labels are equal.
    """

    confidence: float
    n: int
    dropped: int
    mape_excluded: int
    mae: Estimate | None
    rmse: Estimate | None
    mape: Estimate | None
    r2: Estimate | None
    bias: Estimate | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "confidence": self.confidence,
            "n": self.n,
            "dropped": self.dropped,
            "mape_excluded": self.mape_excluded,
        }
        for name in metric_names("regression"):
            estimate: Estimate | None = getattr(self, name)
            out[name] = None if estimate is None else estimate.to_dict()
        return out


@dataclass(frozen=True, eq=False)
class RegressionSummary:
    """Sufficient statistics of (label, prediction) pairs for regression metrics.

    For the error ``e = prediction - label`` it keeps the count, mean and centred second moment
    of ``e``, ``|e|``, ``e²`` and of the absolute percentage error ``|e| / |label|`` (rows with
    label 0 excluded and counted), and of the label up to the fourth centred moment, plus two
    co-moments of ``e²`` with the label (for the R² interval). ``merge`` uses the parallel
    updates of Chan et al. and Pébay (2008): associative and commutative up to floating-point
    rounding, and stable for labels far from zero (no ``Σy² - (Σy)²/n``).

    Intervals (see :meth:`metrics`): normal intervals for MAE, bias and MAPE from the sample
    variances of ``|e|``, ``e`` and the percentage error; the delta method for RMSE (on the MSE)
    and for R² (on the pair MSE, label variance).

    Examples
    --------
    >>> a = RegressionSummary.from_batch([3.0, 5.0, 2.0], [2.5, 5.0, 4.0])
    >>> b = RegressionSummary.from_batch([7.0, np.nan, 1.0], [8.0, 1.0, 0.0])
    >>> both = a.merge(b)
    >>> both.count, both.dropped
    (5, 1)
    >>> m = both.metrics()
    >>> round(m.mae.value, 4), round(m.rmse.value, 4), round(m.r2.value, 4), round(m.bias.value, 4)
    (0.9, 1.118, 0.7306, 0.3)
    >>> round(m.mae.interval.low, 4), round(m.mae.interval.high, 4)
    (0.25, 1.55)
    """

    count: int
    dropped: int
    mape_excluded: int
    label_mean: float
    label_m2: float
    label_m3: float
    label_m4: float
    error_mean: float
    error_m2: float
    abs_error_mean: float
    abs_error_m2: float
    sq_error_mean: float
    sq_error_m2: float
    sq_error_label_c11: float
    sq_error_label_c12: float
    ape_mean: float
    ape_m2: float

    @classmethod
    def empty(cls) -> RegressionSummary:
        return cls(0, 0, 0, *([0.0] * len(_FLOAT_FIELDS)))

    @classmethod
    def from_batch(cls, labels: ArrayLike, predictions: ArrayLike) -> RegressionSummary:
        """Summarise one batch of pairs; pairs with a NaN or infinite value are dropped.

        Examples
        --------
        >>> s = RegressionSummary.from_batch([1.0, 2.0, 0.0, np.nan], [1.5, 1.0, 0.5, 2.0])
        >>> s.count, s.dropped, s.mape_excluded, s.abs_error_mean
        (3, 1, 1, 0.6666666666666666)
        """
        y = np.asarray(labels, dtype=np.float64)
        y_hat = np.asarray(predictions, dtype=np.float64)
        if y.ndim != 1 or y.shape != y_hat.shape:
            raise InputError(
                f"labels and predictions must be 1-D arrays of the same length, got shapes "
                f"{y.shape} and {y_hat.shape}"
            )
        keep = np.isfinite(y) & np.isfinite(y_hat)
        dropped = int(len(y) - np.count_nonzero(keep))
        if dropped:
            y, y_hat = y[keep], y_hat[keep]
        n = len(y)
        if n == 0:
            return replace(RegressionSummary.empty(), dropped=dropped)
        error = y_hat - y
        abs_error = np.abs(error)
        sq_error = np.square(error)
        label_mean, label_dev = _centre(y)
        label_dev2 = np.square(label_dev)
        sq_mean, sq_dev = _centre(sq_error)
        error_mean, error_dev = _centre(error)
        abs_mean, abs_dev = _centre(abs_error)
        nonzero = y != 0.0
        ape = abs_error[nonzero] / np.abs(y[nonzero])
        ape_mean, ape_dev = _centre(ape) if len(ape) else (0.0, ape)
        return cls(
            count=n,
            dropped=dropped,
            mape_excluded=int(n - len(ape)),
            label_mean=label_mean,
            label_m2=float(label_dev2.sum()),
            label_m3=float((label_dev2 * label_dev).sum()),
            label_m4=float(np.square(label_dev2).sum()),
            error_mean=error_mean,
            error_m2=float(np.square(error_dev).sum()),
            abs_error_mean=abs_mean,
            abs_error_m2=float(np.square(abs_dev).sum()),
            sq_error_mean=sq_mean,
            sq_error_m2=float(np.square(sq_dev).sum()),
            sq_error_label_c11=float((sq_dev * label_dev).sum()),
            sq_error_label_c12=float((sq_dev * label_dev2).sum()),
            ape_mean=ape_mean,
            ape_m2=float(np.square(ape_dev).sum()),
        )

    @property
    def ape_count(self) -> int:
        """Pairs in MAPE: those with a non-zero label."""
        return self.count - self.mape_excluded

    def merge(self, other: RegressionSummary) -> RegressionSummary:
        """Summary of both batches (associative and commutative up to rounding)."""
        n_a, n_b = self.count, other.count
        if n_a == 0 or n_b == 0:
            source = self if n_b == 0 else other
            return replace(source, dropped=self.dropped + other.dropped)
        n = n_a + n_b
        label = _merge_moments(
            n_a,
            (self.label_mean, self.label_m2, self.label_m3, self.label_m4),
            n_b,
            (other.label_mean, other.label_m2, other.label_m3, other.label_m4),
        )
        error = _merge_moments(
            n_a, (self.error_mean, self.error_m2), n_b, (other.error_mean, other.error_m2)
        )
        abs_error = _merge_moments(
            n_a,
            (self.abs_error_mean, self.abs_error_m2),
            n_b,
            (other.abs_error_mean, other.abs_error_m2),
        )
        sq_error = _merge_moments(
            n_a,
            (self.sq_error_mean, self.sq_error_m2),
            n_b,
            (other.sq_error_mean, other.sq_error_m2),
        )
        ape_a, ape_b = self.ape_count, other.ape_count
        ape: tuple[float, ...]
        if ape_a == 0 or ape_b == 0:
            ape_source = self if ape_b == 0 else other
            ape = (ape_source.ape_mean, ape_source.ape_m2)
        else:
            ape = _merge_moments(
                ape_a, (self.ape_mean, self.ape_m2), ape_b, (other.ape_mean, other.ape_m2)
            )
        # Co-moments of u = e² with the label y around the merged means: with g_p = ū_p - ū and
        # d_p = ȳ_p - ȳ for each part p,
        #   C11 = Σ_p [C11_p + n_p g_p d_p]
        #   C12 = Σ_p [C12_p + 2 d_p C11_p + g_p M2y_p + n_p g_p d_p²]
        # (expand (u - ū)(y - ȳ)^k with u - ū = (u - ū_p) + g_p, y - ȳ = (y - ȳ_p) + d_p).
        c11 = 0.0
        c12 = 0.0
        for part in (self, other):
            g = part.sq_error_mean - sq_error[0]
            d = part.label_mean - label[0]
            c11 += part.sq_error_label_c11 + part.count * g * d
            c12 += (
                part.sq_error_label_c12
                + 2.0 * d * part.sq_error_label_c11
                + g * part.label_m2
                + part.count * g * d * d
            )
        return RegressionSummary(
            count=n,
            dropped=self.dropped + other.dropped,
            mape_excluded=self.mape_excluded + other.mape_excluded,
            label_mean=label[0],
            label_m2=label[1],
            label_m3=label[2],
            label_m4=label[3],
            error_mean=error[0],
            error_m2=error[1],
            abs_error_mean=abs_error[0],
            abs_error_m2=abs_error[1],
            sq_error_mean=sq_error[0],
            sq_error_m2=sq_error[1],
            sq_error_label_c11=c11,
            sq_error_label_c12=c12,
            ape_mean=ape[0],
            ape_m2=ape[1],
        )

    def metrics(self, confidence: float = 0.95) -> RegressionMetrics:
        """Point estimates and two-sided intervals at level ``confidence``.

        - MAE, bias (mean error) and MAPE: normal intervals ``mean ± z s / sqrt(n)`` with ``s``
          the sample standard deviation of ``|e|``, ``e`` and ``|e| / |y|`` (MAE and MAPE
          clipped at 0). MAPE's interval is poor when labels come close to 0 (heavy tails).
        - RMSE: delta method on the MSE, with ``se(MSE)`` from the sample variance of ``e²``:
          ``se(log RMSE) = se(MSE) / (2 MSE)``, and the interval ``RMSE · exp(± z se(log RMSE))``
          (on the log scale it stays positive and holds coverage a little better at small n
          than the symmetric ``RMSE ± z se(MSE) / (2 RMSE)``). When ``RMSE == 0`` it is [0, 0].
        - R² = 1 - MSE / V (``V`` the population variance of the labels): delta method on the
          pair (MSE, V), ``n var(R²) ≈ var(e²)/V² - 2 MSE cov(e², (y-ȳ)²)/V³
          + MSE² (μ₄ - V²)/V⁴`` with ``μ₄`` the fourth central moment of the labels; clipped
          at 1 above. R² itself is ``None`` when ``V == 0`` (scikit-learn returns 0 or 1 there).

        Intervals need at least two pairs (``None`` otherwise).

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> y = rng.normal(10.0, 2.0, 500)
        >>> m = RegressionSummary.from_batch(y, y + rng.normal(0.1, 0.5, 500)).metrics()
        >>> round(m.rmse.value, 4), round(m.rmse.interval.low, 4), round(m.rmse.interval.high, 4)
        (0.4735, 0.4447, 0.5042)
        >>> round(m.r2.value, 4), m.r2.interval.method
        (0.9454, 'delta')
        """
        confidence = check_confidence(confidence)
        n = self.count
        if n == 0:
            return RegressionMetrics(
                confidence, 0, self.dropped, self.mape_excluded, None, None, None, None, None
            )

        def mean_estimate(mean: float, m2: float, count: int, lower: float) -> Estimate:
            if count < 2:
                return Estimate(mean, None)
            std_error = math.sqrt(max(m2, 0.0) / (count - 1) / count)
            return Estimate(mean, normal(mean, std_error, confidence, lower=lower))

        mae = mean_estimate(self.abs_error_mean, self.abs_error_m2, n, 0.0)
        bias = mean_estimate(self.error_mean, self.error_m2, n, -math.inf)
        mape = (
            mean_estimate(self.ape_mean, self.ape_m2, self.ape_count, 0.0)
            if self.ape_count
            else None
        )
        mse = max(self.sq_error_mean, 0.0)
        rmse_value = math.sqrt(mse)
        rmse_interval = None
        if n >= 2:
            mse_se = math.sqrt(max(self.sq_error_m2, 0.0) / (n - 1) / n)
            if rmse_value > 0.0:
                # se(log RMSE) = se(MSE) / (2 MSE); the interval is formed on the log scale.
                on_log = normal(math.log(rmse_value), mse_se / (2.0 * mse), confidence)
                rmse_interval = Interval(math.exp(on_log.low), math.exp(on_log.high), "delta")
            else:
                rmse_interval = Interval(0.0, 0.0, "delta")
        rmse = Estimate(rmse_value, rmse_interval)
        return RegressionMetrics(
            confidence=confidence,
            n=n,
            dropped=self.dropped,
            mape_excluded=self.mape_excluded,
            mae=mae,
            rmse=rmse,
            mape=mape,
            r2=self._r2(confidence),
            bias=bias,
        )

    def _r2(self, confidence: float) -> Estimate | None:
        n = self.count
        variance = self.label_m2 / n if n else 0.0
        if n < 2 or not variance > 0.0:
            return None
        mse = max(self.sq_error_mean, 0.0)
        value = 1.0 - mse / variance
        var_u = max(self.sq_error_m2, 0.0) / n
        var_w = max(self.label_m4 / n - variance * variance, 0.0)
        cov_uw = self.sq_error_label_c12 / n
        ratio = mse / variance
        asymptotic = (
            var_u / variance**2
            - 2.0 * ratio * cov_uw / variance**2
            + ratio**2 * var_w / variance**2
        )
        # n - 1 rather than n: the same small-sample correction as the sample variances above.
        std_error = math.sqrt(max(asymptotic, 0.0) / (n - 1))
        return Estimate(value, normal(value, std_error, confidence, upper=1.0, method="delta"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "regression",
            "version": FORMAT_VERSION,
            "count": self.count,
            "dropped": self.dropped,
            "mape_excluded": self.mape_excluded,
        }
        out.update({name: getattr(self, name) for name in _FLOAT_FIELDS})
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegressionSummary:
        if data.get("type") != "regression":
            raise InputError(f"not a regression summary (type {data.get('type')!r})")
        if data.get("version") != FORMAT_VERSION:
            raise InputError(
                f"regression summary format version {data.get('version')} is not supported by "
                f"this seismo (reads version {FORMAT_VERSION}); upgrade seismo"
            )
        return cls(
            int(data["count"]),
            int(data["dropped"]),
            int(data["mape_excluded"]),
            *(float(data[name]) for name in _FLOAT_FIELDS),
        )


def _centre(values: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
    """Mean (with one refinement pass) and the deviations from it."""
    mean = float(values.mean())
    deviations = values - mean
    correction = float(deviations.mean())
    if correction != 0.0:
        mean += correction
        deviations = values - mean
    return mean, deviations


def _merge_moments(
    n_a: int, a: tuple[float, ...], n_b: int, b: tuple[float, ...]
) -> tuple[float, ...]:
    """Merge (mean, M2[, M3, M4]) of two non-empty parts (Chan et al.; Pébay 2008, eq. 2.1)."""
    n = n_a + n_b
    delta = b[0] - a[0]
    mean = a[0] + delta * n_b / n
    m2 = a[1] + b[1] + delta * delta * n_a * n_b / n
    if len(a) == 2:
        return mean, m2
    m3 = (
        a[2]
        + b[2]
        + delta**3 * n_a * n_b * (n_a - n_b) / n**2
        + 3.0 * delta * (n_a * b[1] - n_b * a[1]) / n
    )
    m4 = (
        a[3]
        + b[3]
        + delta**4 * n_a * n_b * (n_a * n_a - n_a * n_b + n_b * n_b) / n**3
        + 6.0 * delta * delta * (n_a * n_a * b[1] + n_b * n_b * a[1]) / n**2
        + 4.0 * delta * (n_a * b[2] - n_b * a[2]) / n
    )
    return mean, m2, m3, m4
