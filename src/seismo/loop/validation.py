"""Champion against challenger on a holdout: a paired test, a margin, a per-segment tolerance.

The closed loop retrains a model (the *challenger*) and must decide whether it beats the model
being served (the *champion*) on a time-based holdout of recent labelled rows. Both models
predict the same rows, so the comparison is *paired*: every test below works on the
row-by-row differences, which is far more sensitive than comparing two independent scores.

:func:`compare_models` chooses the test from the metric (names and directions come from the one
registry, :mod:`seismo.performance.metrics`):

================  ==================================================================================
metric            test
================  ==================================================================================
accuracy          McNemar on the rows exactly one model gets right (:func:`mcnemar`): exact
                  binomial when there are fewer than 25 such rows, otherwise chi-square with
                  continuity correction; one-sided towards the challenger
roc_auc           DeLong's test for two correlated ROC AUCs (:func:`delong`), in the
                  O(n log n) midrank form of Sun & Xu (2014); binary only
every other one   paired bootstrap (:func:`paired_bootstrap`): each replicate resamples the rows
                  once and computes both models' metric on that same resample
================  ==================================================================================

Every result is the *improvement*, signed so that a positive value means the challenger is
better: challenger - champion for higher-is-better metrics, champion - challenger for
lower-is-better ones and ``|bias| champion - |bias| challenger`` for bias; its confidence
interval at level ``1 - 2 alpha`` (its lower end is the one-sided bound at ``alpha``), and a
one-sided p-value of the null hypothesis "the challenger is not better".

The challenger passes when all three hold:

1. the improvement is at least ``margin``;
2. the p-value is below ``alpha``;
3. on every segment value with at least ``min_segment_rows`` rows, the challenger is not worse
   than the champion by more than ``segment_tolerance`` (in the metric's own units). Smaller
   segments, and segments where the metric is undefined (ROC AUC of a single class, R² of
   constant labels), are reported but not judged.

A challenger whose point improvement is negative therefore never passes, whatever the test
says, and one equal to the champion never does either (its p-value is 1, or 0.5 and above).

Metric conventions (point values equal scikit-learn's): precision, recall and F1 are those of
the positive class ``classes[-1]`` on two classes and the unweighted (macro) mean over every
class in ``classes`` on more; a class with nothing predicted (or no rows) scores 0 -- like
scikit-learn's default ``zero_division`` -- so that a model cannot gain by giving up a class.
A prediction that is not in ``classes`` is wrong. Log loss clips probabilities to
[1e-15, 1 - 1e-15]. MAPE leaves out the rows whose label is 0 (as
:class:`~seismo.performance.RegressionSummary` does; scikit-learn divides by 2.2e-16 there).

The paired bootstrap (method and cost): rows are resampled *through their counts*. Resampling n
rows with replacement puts a Multinomial(n, sizes / n) number of draws in any partition of the
rows into groups, and when all rows of a group are equal that count is all the replicate needs.

- Metrics of the confusion counts (accuracy, precision, recall, F1): a row is the cell
  (label, champion's class, challenger's class); rows in a cell are equal, so a replicate is one
  multinomial draw over the non-empty cells -- exactly the row bootstrap, at a cost of
  O(resamples x cells), whatever the number of rows (8 cells for two classes).
- Means of per-row values (log loss, MAE, RMSE, MAPE, R², bias): with at most
  ``BOOTSTRAP_GROUPS`` rows every row is a group and the rows are resampled one by one -- the
  row bootstrap exactly. With more, the rows are sorted by their influence on the improvement
  (its gradient with respect to the column means); the most influential quarter of the groups
  at each end are single rows (outliers shape the bootstrap distribution, so they are resampled
  exactly), and the rows between are cut into groups of consecutive rows. A replicate draws
  the group counts from the multinomial (exact) and, within each group, the sum of its draws
  from a normal with the group's mean and covariance times the count: exact in mean and
  covariance, approximate only in the shape of the spread *within* a group of similar rows,
  which the sum over hundreds of groups washes out (measured in the tests against the row
  bootstrap on heavy-tailed errors). Cost O(resamples x groups) plus one sort: well under a
  second at a million rows, where resampling rows would take a minute.

The p-value is ``(1 + #{replicates with improvement <= 0}) / (resamples + 1)``; the interval
is the percentile interval of the replicates. Both are repeatable given ``seed``.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> truth = rng.random(2000) < 0.4
>>> champion = np.where(rng.random(2000) < 0.80, truth, ~truth)     # right 80% of the time
>>> challenger = np.where(rng.random(2000) < 0.86, truth, ~truth)   # right 86% of the time
>>> result = compare_models(
...     y_true=truth.astype(int), champion=champion.astype(int),
...     challenger=challenger.astype(int), task="classification", metric="accuracy",
...     margin=0.01,
... )
>>> result.test, result.passed, round(result.champion, 4), round(result.challenger, 4)
('mcnemar', True, 0.8075, 0.859)
>>> print(result.reasons[0])
challenger accuracy 0.859 vs champion 0.8075: improvement +0.0515 >= margin 0.01
>>> print(result.reasons[1])  # doctest: +NORMALIZE_WHITESPACE
McNemar (chi2; 327 rows right only by the challenger, 224 only by the champion): one-sided
p = 6.95e-06 < alpha 0.05; 90% interval of the improvement [+0.03224, +0.07066]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import InputError
from seismo.performance.classification import EPSILON
from seismo.performance.intervals import critical_value
from seismo.performance.metrics import Metric, Task, metric_names
from seismo.performance.metrics import metric as registry_metric

__all__ = [
    "BOOTSTRAP_GROUPS",
    "EXACT_BELOW",
    "BootstrapResult",
    "Comparison",
    "DeLongResult",
    "GroupComparison",
    "McNemarResult",
    "SegmentComparison",
    "compare_groups",
    "compare_models",
    "delong",
    "mcnemar",
    "mcnemar_table",
    "paired_bootstrap",
]

TestName = Literal["mcnemar", "delong", "paired_bootstrap"]

#: McNemar uses the exact binomial test below this many discordant rows, chi-square above.
EXACT_BELOW: Final = 25
#: Beyond this many rows the bootstrap of per-row means resamples groups of similar rows.
BOOTSTRAP_GROUPS: Final = 1024
#: A segment column with more distinct values than this is refused (bin it first).
MAX_SEGMENT_VALUES: Final = 1000
#: Rows of 2-D class probabilities may miss a sum of 1 by this much (then they are rescaled).
SUM_TOLERANCE: Final = 1e-4
#: Replicates are drawn in chunks of at most this many (replicate, group) cells.
_CHUNK_CELLS: Final = 1 << 21
#: Binary metrics whose value depends on which class is positive.
_POSITIVE_CLASS_METRICS: Final = frozenset({"precision", "recall", "f1", "roc_auc", "log_loss"})
#: Binary label sets whose positive class is unambiguous (1, True), as in scikit-learn.
_OBVIOUS_BINARY: Final = (("0", "1"), ("False", "True"))
_MISSING: Final = "(missing)"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class SegmentComparison:
    """Both models on the rows of one value of one segment column.

    Attributes
    ----------
    column, value : str
        The segment column and its value (missing values are ``"(missing)"``).
    rows : int
        Holdout rows with this value.
    champion, challenger : float
        The metric of each model on those rows (NaN where it is undefined there).
    improvement : float
        Signed like :attr:`Comparison.improvement` (> 0: the challenger is better).
    within_tolerance : bool
        False only for a judged segment where the challenger is worse by more than the
        tolerance.
    judged : bool
        Whether the segment counted towards the decision: it has at least ``min_segment_rows``
        rows and the metric is defined for both models.
    """

    column: str
    value: str
    rows: int
    champion: float
    challenger: float
    improvement: float
    within_tolerance: bool
    judged: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "rows": self.rows,
            "champion": _finite_or_none(self.champion),
            "challenger": _finite_or_none(self.challenger),
            "improvement": _finite_or_none(self.improvement),
            "within_tolerance": self.within_tolerance,
            "judged": self.judged,
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """The verdict of :func:`compare_models`, with the numbers behind it.

    Attributes
    ----------
    metric : str
        The registry name of the metric.
    test : str
        ``"mcnemar"``, ``"delong"`` or ``"paired_bootstrap"``.
    rows : int
        Holdout rows.
    champion, challenger : float
        The metric of each model on the holdout.
    improvement : float
        > 0 means the challenger is better (see the module docstring for the sign).
    interval : tuple of float
        Confidence interval of the improvement at level ``1 - 2 alpha``.
    p_value : float
        One-sided; the null hypothesis is that the challenger is not better.
    margin, alpha : float
        The decision's parameters.
    segments : tuple of SegmentComparison
        Every value of every segment column, judged or not.
    passed : bool
        Whether the challenger beats the champion.
    reasons : tuple of str
        One sentence per condition that failed -- or, when it passed, per condition met.
    """

    metric: str
    test: TestName
    rows: int
    champion: float
    challenger: float
    improvement: float
    interval: tuple[float, float]
    p_value: float
    margin: float
    alpha: float
    segments: tuple[SegmentComparison, ...]
    passed: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: NaN and infinities become ``None``."""
        return {
            "metric": self.metric,
            "test": self.test,
            "rows": self.rows,
            "champion": _finite_or_none(self.champion),
            "challenger": _finite_or_none(self.challenger),
            "improvement": _finite_or_none(self.improvement),
            "interval": [_finite_or_none(end) for end in self.interval],
            "p_value": _finite_or_none(self.p_value),
            "margin": self.margin,
            "alpha": self.alpha,
            "segments": [segment.to_dict() for segment in self.segments],
            "passed": self.passed,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """Result of :func:`mcnemar` and :func:`mcnemar_table`.

    Attributes
    ----------
    rows : int
        Rows compared.
    champion_only, challenger_only : int
        Discordant rows: right by the champion only (``b``), by the challenger only (``c``).
    champion, challenger : float
        Accuracies.
    improvement : float
        ``(c - b) / rows``: challenger accuracy minus champion accuracy.
    interval : tuple of float
        Agresti-Min interval of the improvement at level ``1 - 2 alpha`` (the Wald interval
        of the difference of paired proportions with 1/2 added to each cell of the table).
    statistic : float
        ``"chi2"``: ``(|b - c| - 1)² / (b + c)`` (as statsmodels); ``"exact"``: ``c``.
    p_value : float
        One-sided, towards the challenger: ``P(X >= c)`` with ``X ~ Binomial(b + c, 1/2)``
        (exact), or ``1 - Phi((c - b - 1) / sqrt(b + c))`` (chi2: the continuity-corrected
        normal approximation of that tail; half statsmodels' two-sided value when ``c > b``).
        1 when there are no discordant rows.
    method : str
        ``"exact"`` when ``b + c < 25``, otherwise ``"chi2"``.
    alpha : float
        The one-sided level of the interval.
    """

    rows: int
    champion_only: int
    challenger_only: int
    champion: float
    challenger: float
    improvement: float
    interval: tuple[float, float]
    statistic: float
    p_value: float
    method: Literal["exact", "chi2"]
    alpha: float


@dataclass(frozen=True, slots=True)
class DeLongResult:
    """Result of :func:`delong`.

    Attributes
    ----------
    positives, negatives : int
        Rows of each class.
    champion, challenger : float
        ROC AUCs (ties count one half).
    improvement : float
        Challenger AUC minus champion AUC.
    covariance : tuple of tuple of float
        DeLong's 2 x 2 covariance matrix of (champion AUC, challenger AUC).
    std_error : float
        Standard error of the improvement, ``sqrt(S00 + S11 - 2 S01)``.
    statistic : float
        ``z = improvement / std_error`` (±inf or NaN when the standard error is 0).
    p_value : float
        One-sided ``1 - Phi(z)``. With a zero standard error: 0 when the improvement is
        positive, 1 otherwise.
    interval : tuple of float
        ``improvement ± z_(1 - alpha) std_error``, clipped to [-1, 1].
    alpha : float
        The one-sided level of the interval.
    """

    positives: int
    negatives: int
    champion: float
    challenger: float
    improvement: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    std_error: float
    statistic: float
    p_value: float
    interval: tuple[float, float]
    alpha: float


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    """Result of :func:`paired_bootstrap`.

    Attributes
    ----------
    metric : str
        The registry name of the metric.
    rows : int
        Rows the metric is computed on (for MAPE: those with a non-zero label).
    champion, challenger, improvement : float
        The metric of each model on the holdout, and the signed improvement.
    interval : tuple of float
        Percentile interval of the replicates' improvements at level ``1 - 2 alpha``.
    p_value : float
        ``(1 + #{replicates with improvement <= 0 or undefined}) / (resamples + 1)``.
    resamples : int
        Replicates drawn.
    groups : int
        How many groups of rows the multinomial resampled (cells, rows, or groups of similar
        rows; see the module docstring).
    exact : bool
        True when every group's rows are equal, so the replicates are distributed exactly as
        the row bootstrap's.
    alpha : float
        The one-sided level of the interval.
    """

    metric: str
    rows: int
    champion: float
    challenger: float
    improvement: float
    interval: tuple[float, float]
    p_value: float
    resamples: int
    groups: int
    exact: bool
    alpha: float


# ----------------------------------------------------------------------------- McNemar


def mcnemar_table(table: ArrayLike, *, alpha: float = 0.05) -> McNemarResult:
    """One-sided McNemar test from the 2 x 2 table of paired outcomes.

    Parameters
    ----------
    table : array_like, shape (2, 2)
        Row: champion right / wrong; column: challenger right / wrong (statsmodels' layout), so
        ``table[0][1]`` counts rows only the champion gets right and ``table[1][0]`` rows only
        the challenger gets right.
    alpha : float
        One-sided level of the interval.

    Examples
    --------
    >>> r = mcnemar_table([[50, 3], [12, 35]])
    >>> r.method, r.improvement, round(r.p_value, 4)
    ('exact', 0.09, 0.0176)
    >>> r = mcnemar_table([[500, 30], [60, 410]])
    >>> r.method, round(r.statistic, 3), round(r.p_value, 5)
    ('chi2', 9.344, 0.00112)
    """
    alpha = _check_alpha(alpha)
    counts = np.asarray(table)
    if counts.shape != (2, 2) or counts.dtype.kind not in "iuf":
        raise InputError(f"a McNemar table is 2 x 2 counts, got {counts.tolist()!r}")
    if not (np.all(np.isfinite(counts)) and np.all(counts >= 0) and np.all(counts % 1 == 0)):
        raise InputError(f"a McNemar table holds counts (whole numbers >= 0), got {counts}")
    both, champion_only = int(counts[0, 0]), int(counts[0, 1])
    challenger_only, neither = int(counts[1, 0]), int(counts[1, 1])
    rows = both + champion_only + challenger_only + neither
    if rows == 0:
        raise InputError("a McNemar table needs at least one row; it is all zeros")
    from scipy.special import bdtrc, ndtr  # here, not at import: scipy.special takes ~0.3 s

    b, c = champion_only, challenger_only
    discordant = b + c
    method: Literal["exact", "chi2"] = "exact" if discordant < EXACT_BELOW else "chi2"
    if discordant == 0:
        statistic, p_value = (0.0 if method == "chi2" else float(c)), 1.0
    elif method == "exact":
        # P(X >= c) = P(X > c - 1) for X ~ Binomial(b + c, 1/2).
        statistic = float(c)
        p_value = 1.0 if c == 0 else float(bdtrc(c - 1, discordant, 0.5))
    else:
        statistic = (abs(b - c) - 1.0) ** 2 / discordant
        p_value = float(ndtr(-(c - b - 1.0) / math.sqrt(discordant)))
    # Agresti & Min (2005): the Wald interval with 1/2 added to every cell keeps its coverage.
    n_adj = rows + 2.0
    b_adj, c_adj = b + 0.5, c + 0.5
    centre = (c_adj - b_adj) / n_adj
    std_error = math.sqrt(max((b_adj + c_adj) - (c_adj - b_adj) ** 2 / n_adj, 0.0)) / n_adj
    half = critical_value(1.0 - 2.0 * alpha) * std_error
    return McNemarResult(
        rows=rows,
        champion_only=b,
        challenger_only=c,
        champion=(both + b) / rows,
        challenger=(both + c) / rows,
        improvement=(c - b) / rows,
        interval=(max(centre - half, -1.0), min(centre + half, 1.0)),
        statistic=statistic,
        p_value=min(max(p_value, 0.0), 1.0),
        method=method,
        alpha=alpha,
    )


def mcnemar(
    champion_correct: ArrayLike, challenger_correct: ArrayLike, *, alpha: float = 0.05
) -> McNemarResult:
    """One-sided McNemar test of two models' right/wrong outcomes on the same rows.

    See :func:`mcnemar_table` for the table it builds and :class:`McNemarResult` for the test.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> champion = rng.random(300) < 0.7
    >>> challenger = champion | (rng.random(300) < 0.15)     # fixes some of its mistakes
    >>> r = mcnemar(champion, challenger)
    >>> r.champion_only, r.challenger_only, r.method, f"{r.p_value:.1e}"
    (0, 10, 'exact', '9.8e-04')
    """
    a = _booleans(champion_correct, "champion_correct")
    b = _booleans(challenger_correct, "challenger_correct")
    if len(a) != len(b):
        raise InputError(
            f"champion_correct and challenger_correct differ in length ({len(a)} and {len(b)}); "
            "both must describe the same rows"
        )
    table = [
        [int(np.count_nonzero(a & b)), int(np.count_nonzero(a & ~b))],
        [int(np.count_nonzero(~a & b)), int(np.count_nonzero(~a & ~b))],
    ]
    return mcnemar_table(table, alpha=alpha)


# ----------------------------------------------------------------------------- DeLong


def delong(
    is_positive: ArrayLike,
    champion_scores: ArrayLike,
    challenger_scores: ArrayLike,
    *,
    alpha: float = 0.05,
) -> DeLongResult:
    """DeLong's one-sided test that the challenger's ROC AUC is higher (paired rows).

    DeLong, DeLong & Clarke-Pearson (1988): each positive row ``i`` of a model has the
    structural component ``V10_i`` = the share of negatives it outscores (ties one half), each
    negative ``j`` has ``V01_j`` = the share of positives that outscore it; the AUC is the mean
    of either. With ``S10`` and ``S01`` the 2 x 2 sample covariance matrices (over positives,
    over negatives) of the two models' components, ``S = S10 / m + S01 / n`` is the covariance
    of the two AUCs, and ``var(AUC_b - AUC_a) = S00 + S11 - 2 S01``.

    The components come from one sort per model, as in Sun & Xu (2014): with ``T_z`` the
    midrank of a row among all rows and ``T_x`` (``T_y``) its midrank among the positives
    (negatives), ``V10_i = (T_z - T_x) / n`` and ``V01_j = 1 - (T_z - T_y) / m``; one stable
    sort of the scores gives both midranks (``T_z - T_x`` is the number of negatives below plus
    half those tied), so the cost is O(N log N).

    Parameters
    ----------
    is_positive : array_like of bool
        Whether each row is of the positive class.
    champion_scores, challenger_scores : array_like of float
        Scores of the positive class (probabilities or any ranking score), one per row.
    alpha : float
        One-sided level of the interval.

    Raises
    ------
    InputError
        On mismatched lengths, non-finite scores, or fewer than two rows of either class.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> y = rng.random(500) < 0.3
    >>> champion = y + rng.normal(0, 1.0, 500)
    >>> challenger = y + rng.normal(0, 0.6, 500)
    >>> r = delong(y, champion, challenger)
    >>> round(r.champion, 4), round(r.challenger, 4), round(r.statistic, 2), f"{r.p_value:.1e}"
    (0.7564, 0.8926, 4.72, '1.2e-06')
    """
    alpha = _check_alpha(alpha)
    positive = _booleans(is_positive, "is_positive")
    n = len(positive)
    a = _finite(champion_scores, "champion_scores", n)
    b = _finite(challenger_scores, "challenger_scores", n)
    positives = int(np.count_nonzero(positive))
    negatives = n - positives
    if positives < 2 or negatives < 2:
        raise InputError(
            f"DeLong's test needs at least two rows of each class, got {positives} positive and "
            f"{negatives} negative rows; use a larger holdout"
        )
    components_a = _auc_components(positive, a, positives)
    components_b = _auc_components(positive, b, positives)
    auc_a = float(components_a[positive].mean())
    auc_b = float(components_b[positive].mean())
    s10 = np.cov(np.vstack([components_a[positive], components_b[positive]]))
    s01 = np.cov(np.vstack([components_a[~positive], components_b[~positive]]))
    covariance = s10 / positives + s01 / negatives
    variance = float(covariance[0, 0] + covariance[1, 1] - 2.0 * covariance[0, 1])
    improvement = auc_b - auc_a
    std_error = math.sqrt(max(variance, 0.0))
    if std_error > 0.0:
        from scipy.special import ndtr  # here, not at import: scipy.special takes ~0.3 s

        statistic = improvement / std_error
        p_value = float(ndtr(-statistic))
    else:
        statistic = math.copysign(math.inf, improvement) if improvement else math.nan
        p_value = 0.0 if improvement > 0.0 else 1.0
    half = critical_value(1.0 - 2.0 * alpha) * std_error
    return DeLongResult(
        positives=positives,
        negatives=negatives,
        champion=auc_a,
        challenger=auc_b,
        improvement=improvement,
        covariance=(
            (float(covariance[0, 0]), float(covariance[0, 1])),
            (float(covariance[1, 0]), float(covariance[1, 1])),
        ),
        std_error=std_error,
        statistic=statistic,
        p_value=p_value,
        interval=(max(improvement - half, -1.0), min(improvement + half, 1.0)),
        alpha=alpha,
    )


def _auc_components(positive: NDArray[np.bool_], scores: FloatArray, positives: int) -> FloatArray:
    """DeLong's structural component of every row, in row order (V10 for positive rows, V01
    for negative rows), from one stable sort (see :func:`delong`)."""
    negatives = len(positive) - positives
    order = np.argsort(scores)
    ordered = scores[order]
    starts = np.empty(len(ordered), dtype=np.bool_)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    tie_group = np.cumsum(starts) - 1
    groups = int(tie_group[-1]) + 1
    is_positive = positive[order]
    positives_in = np.bincount(tie_group, weights=is_positive, minlength=groups)
    negatives_in = np.bincount(tie_group, minlength=groups) - positives_in
    negatives_below = np.cumsum(negatives_in) - negatives_in
    positives_above = positives - np.cumsum(positives_in)
    v10 = (negatives_below + 0.5 * negatives_in) / negatives  # T_z - T_x over n
    v01 = (positives_above + 0.5 * positives_in) / positives  # 1 - (T_z - T_y) over m
    components = np.empty(len(ordered))
    components[order] = np.where(is_positive, v10[tie_group], v01[tie_group])
    return components


def _auc(positive: NDArray[np.bool_], scores: FloatArray) -> float:
    """ROC AUC (ties one half); NaN when a class is absent."""
    positives = int(np.count_nonzero(positive))
    if positives == 0 or positives == len(positive):
        return math.nan
    return float(_auc_components(positive, scores, positives)[positive].mean())


# ----------------------------------------------------------------------------- paired metrics


class _Paired(Protocol):
    """Both models' metric on a subset of the holdout rows (all rows when ``rows`` is None)."""

    def values(self, rows: IntArray | None) -> tuple[float, float]: ...


@dataclass(frozen=True)
class _Counts:
    """Classification metrics of the confusion counts (accuracy, precision, recall, F1).

    ``labels`` are class indices ``0..k-1``; predictions ``0..k``, where ``k`` is a class
    outside the list (wrong for every label).
    """

    name: str
    k: int
    labels: IntArray
    champion: IntArray
    challenger: IntArray

    def values(self, rows: IntArray | None) -> tuple[float, float]:
        sizes, labels, champion, challenger = self.cells(rows)
        a, b = self.from_weights(sizes[None, :].astype(np.float64), labels, champion, challenger)
        return float(a[0]), float(b[0])

    def cells(
        self, rows: IntArray | None
    ) -> tuple[NDArray[np.int64], IntArray, IntArray, IntArray]:
        """The non-empty (label, champion, challenger) cells of ``rows``: their row counts and
        their three classes."""
        labels, champion, challenger = self.labels, self.champion, self.challenger
        if rows is not None:
            labels, champion, challenger = labels[rows], champion[rows], challenger[rows]
        k1 = self.k + 1
        cells = (labels * k1 + champion) * k1 + challenger
        if self.k * k1 * k1 <= max(4 * len(cells), 1 << 16):
            counted = np.bincount(cells, minlength=self.k * k1 * k1)
            found = np.flatnonzero(counted)
            sizes = counted[found]
        else:
            found, sizes = np.unique(cells, return_counts=True)
        cell_labels, rest = np.divmod(found, k1 * k1)
        cell_champion, cell_challenger = np.divmod(rest, k1)
        return (
            np.asarray(sizes, dtype=np.int64),
            np.asarray(cell_labels, dtype=np.intp),
            np.asarray(cell_champion, dtype=np.intp),
            np.asarray(cell_challenger, dtype=np.intp),
        )

    def from_weights(
        self, weights: FloatArray, labels: IntArray, champion: IntArray, challenger: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Both models' metric for each row of ``weights`` (replicates x groups), where group
        ``g`` has label ``labels[g]`` and the predictions ``champion[g]``, ``challenger[g]``."""
        support = _weighted_counts(weights, labels, self.k)
        total = weights.sum(axis=1)
        out = []
        for predicted_class in (champion, challenger):
            predicted = _weighted_counts(weights, predicted_class, self.k)
            hits = _weighted_counts(
                weights, np.where(predicted_class == labels, labels, -1), self.k
            )
            out.append(_count_metric(self.name, hits, predicted, support, total))
        return out[0], out[1]


def _weighted_counts(weights: FloatArray, classes: IntArray, k: int) -> FloatArray:
    """``out[r, c]`` = sum of ``weights[r, g]`` over the groups ``g`` with ``classes[g] == c``
    (classes outside ``0..k-1`` are left out)."""
    replicates = weights.shape[0]
    inside = (classes >= 0) & (classes < k)
    flat = (np.arange(replicates)[:, None] * k + classes[None, inside]).ravel()
    counted = np.bincount(flat, weights=weights[:, inside].ravel(), minlength=replicates * k)
    return np.asarray(counted.reshape(replicates, k), dtype=np.float64)


def _count_metric(
    name: str, hits: FloatArray, predicted: FloatArray, support: FloatArray, total: FloatArray
) -> FloatArray:
    """The metric from per-class counts (replicates x classes); zero where a ratio is 0/0."""
    if name == "accuracy":
        return np.asarray(hits.sum(axis=1) / np.maximum(total, 1.0), dtype=np.float64)
    if name == "precision":
        denominator = predicted
        per_class = hits
    elif name == "recall":
        denominator = support
        per_class = hits
    else:  # f1 = 2 tp / (2 tp + fp + fn)
        denominator = support + predicted
        per_class = 2.0 * hits
    ratio = np.divide(per_class, denominator, out=np.zeros_like(hits), where=denominator > 0)
    if ratio.shape[1] == 2:
        return np.asarray(ratio[:, 1], dtype=np.float64)
    return np.asarray(ratio.mean(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class _Columns:
    """A metric that is a function of the means of a few per-row columns.

    ``columns(rows)`` builds the (rows x d) matrix of the subset; ``evaluate`` maps means
    (replicates x d) to both models' values.
    """

    name: str
    columns: Callable[[IntArray | None], FloatArray]
    evaluate: Callable[[FloatArray], tuple[FloatArray, FloatArray]]

    def values(self, rows: IntArray | None) -> tuple[float, float]:
        matrix = self.columns(rows)
        if len(matrix) == 0:
            return math.nan, math.nan
        a, b = self.evaluate(matrix.mean(axis=0)[None, :])
        return float(a[0]), float(b[0])


@dataclass(frozen=True)
class _Aucs:
    """ROC AUC of each model's scores."""

    positive: NDArray[np.bool_]
    champion: FloatArray
    challenger: FloatArray

    def values(self, rows: IntArray | None) -> tuple[float, float]:
        if rows is None:
            return _auc(self.positive, self.champion), _auc(self.positive, self.challenger)
        positive = self.positive[rows]
        return _auc(positive, self.champion[rows]), _auc(positive, self.challenger[rows])


def _means(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    return matrix[:, 0], matrix[:, 1]


def _root_means(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    return np.sqrt(np.maximum(matrix[:, 0], 0.0)), np.sqrt(np.maximum(matrix[:, 1], 0.0))


def _r2(matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Columns: champion e², challenger e², y - c, (y - c)² for a constant c near the mean."""
    variance = matrix[:, 3] - np.square(matrix[:, 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(variance > 0.0, 1.0 / variance, np.nan)
    return 1.0 - matrix[:, 0] * scale, 1.0 - matrix[:, 1] * scale


# ----------------------------------------------------------------------------- input checks


@dataclass(frozen=True)
class _Holdout:
    """Validated inputs: the metric, the row count and how to evaluate it on any rows."""

    metric: Metric
    rows: int
    paired: _Paired
    # Only for the tests that need them.
    correct: tuple[NDArray[np.bool_], NDArray[np.bool_]] | None = None
    scores: tuple[NDArray[np.bool_], FloatArray, FloatArray] | None = None


def _prepare(
    *,
    y_true: ArrayLike,
    champion: ArrayLike,
    challenger: ArrayLike,
    task: str,
    metric: str,
    classes: Sequence[str] | None,
    champion_scores: ArrayLike | None,
    challenger_scores: ArrayLike | None,
) -> _Holdout:
    if task not in ("classification", "regression"):
        raise InputError(f"task must be 'classification' or 'regression', got {task!r}")
    chosen = _metric(metric, task)
    labels = np.asarray(y_true)
    if labels.ndim != 1:
        raise InputError(f"y_true must be a 1-D sequence of labels, got shape {labels.shape}")
    n = len(labels)
    if n == 0:
        raise InputError("y_true is empty: the holdout needs labelled rows")
    for what, values in (("champion", champion), ("challenger", challenger)):
        if np.ndim(values) != 1 or len(np.asarray(values)) != n:
            raise InputError(
                f"{what} must hold one prediction per holdout row: y_true has {n} rows, "
                f"{what} has shape {np.shape(values)}"
            )
    if task == "regression":
        if classes is not None:
            raise InputError("classes is for classification; leave it out for regression")
        if champion_scores is not None or challenger_scores is not None:
            raise InputError(
                "champion_scores and challenger_scores are for classification; regression "
                "compares the predictions themselves"
            )
        return _prepare_regression(chosen, labels, champion, challenger)
    return _prepare_classification(
        chosen, labels, champion, challenger, classes, champion_scores, challenger_scores
    )


def _metric(name: str, task: str) -> Metric:
    valid = ", ".join(metric_names(task))  # type: ignore[arg-type]
    try:
        found = registry_metric(name)
    except InputError:
        raise InputError(f"unknown metric {name!r}; {task} metrics are {valid}") from None
    if found.task != task:
        raise InputError(
            f"metric {name!r} is a {found.task} metric, not a {task} one; {task} metrics are "
            f"{valid}"
        )
    return found


def _prepare_regression(
    chosen: Metric, labels: ArrayLike, champion: ArrayLike, challenger: ArrayLike
) -> _Holdout:
    y = _finite(labels, "y_true", None)
    n = len(y)
    error_a = _finite(champion, "champion", n) - y
    error_b = _finite(challenger, "challenger", n) - y
    name = chosen.name
    if name == "mape":
        keep = np.flatnonzero(y != 0.0)
        if len(keep) == 0:
            raise InputError(
                f"mape divides by the label, and all {n} labels are 0; compare with mae or rmse"
            )
        scale = 1.0 / np.abs(y[keep])
        ape = np.column_stack([np.abs(error_a[keep]) * scale, np.abs(error_b[keep]) * scale])

        def mape_columns(rows: IntArray | None) -> FloatArray:
            if rows is None:
                return ape
            return ape[np.searchsorted(keep, rows[np.isin(rows, keep)])]

        return _Holdout(chosen, n, _Columns(name, mape_columns, _means))
    if name == "r2":
        if not np.ptp(y) > 0.0:
            raise InputError(
                f"r2 divides by the variance of the labels, and all {n} labels equal "
                f"{y[0]:g}; compare with mae or rmse"
            )

        def r2_columns(rows: IntArray | None) -> FloatArray:
            ys, ea, eb = (
                (y, error_a, error_b) if rows is None else (y[rows], error_a[rows], error_b[rows])
            )
            centred = ys - (ys.mean() if len(ys) else 0.0)
            return np.column_stack([np.square(ea), np.square(eb), centred, np.square(centred)])

        return _Holdout(chosen, n, _Columns(name, r2_columns, _r2))
    if name == "mae":
        matrix = np.column_stack([np.abs(error_a), np.abs(error_b)])
        evaluate = _means
    elif name == "rmse":
        matrix = np.column_stack([np.square(error_a), np.square(error_b)])
        evaluate = _root_means
    else:  # bias
        matrix = np.column_stack([error_a, error_b])
        evaluate = _means
    return _Holdout(chosen, n, _Columns(name, _row_picker(matrix), evaluate))


def _row_picker(matrix: FloatArray) -> Callable[[IntArray | None], FloatArray]:
    def pick(rows: IntArray | None) -> FloatArray:
        return matrix if rows is None else matrix[rows]

    return pick


def _prepare_classification(
    chosen: Metric,
    labels: ArrayLike,
    champion: ArrayLike,
    challenger: ArrayLike,
    classes: Sequence[str] | None,
    champion_scores: ArrayLike | None,
    challenger_scores: ArrayLike | None,
) -> _Holdout:
    name = chosen.name
    label_names, label_index = _class_values(labels, "y_true", "labels")
    champion_names, champion_index = _class_values(champion, "champion", "predictions")
    challenger_names, challenger_index = _class_values(challenger, "challenger", "predictions")
    if classes is None:
        names = tuple(sorted({*label_names, *champion_names, *challenger_names}))
        if len(names) < 2:
            raise InputError(
                f"y_true and both models' predictions hold a single class ({names[0]!r}); "
                "pass classes to name the others"
            )
        if name in _POSITIVE_CLASS_METRICS and len(names) == 2 and names not in _OBVIOUS_BINARY:
            raise InputError(
                f"metric {name!r} depends on which class is positive, and the labels are "
                f"{list(names)}: pass classes=(negative, positive), e.g. "
                f"classes=({names[0]!r}, {names[1]!r}) makes {names[1]!r} the positive class "
                "(scores are its probability)"
            )
        if name == "log_loss" and len(names) > 2:
            raise InputError(
                "log_loss on more than two classes needs classes, in the order of the score "
                f"columns (the labels are {list(names)})"
            )
    else:
        names = _class_list(classes)
    k = len(names)
    position = {class_name: index for index, class_name in enumerate(names)}
    strange = [value for value in label_names if value not in position]
    if strange:
        rows = sum(
            int(np.count_nonzero(label_index == label_names.index(value))) for value in strange
        )
        raise InputError(
            f"y_true has {rows} labels not in classes {list(names)}: {sorted(strange)[:5]}; "
            "add them to classes or drop those rows from the holdout"
        )

    def codes(found: list[str], index: IntArray) -> IntArray:
        lookup = np.array([position.get(value, k) for value in found], dtype=np.intp)
        return lookup[index]

    label_codes = codes(label_names, label_index)
    champion_codes = codes(champion_names, champion_index)
    challenger_codes = codes(challenger_names, challenger_index)
    n = len(label_codes)
    if name == "roc_auc" or name == "log_loss":
        if champion_scores is None or challenger_scores is None:
            raise InputError(
                f"metric {name!r} compares scores: pass champion_scores and challenger_scores "
                f"(probabilities of {names[-1]!r}"
                + (")" if k == 2 else f", or (rows, {k}) class probabilities)")
            )
        if name == "roc_auc":
            if k != 2:
                raise InputError(
                    f"roc_auc compares binary classifiers (DeLong's test), and there are {k} "
                    "classes; compare with accuracy, f1 or log_loss"
                )
            positive = label_codes == 1
            score_a = _binary_scores(champion_scores, "champion_scores", n, bounded=False)
            score_b = _binary_scores(challenger_scores, "challenger_scores", n, bounded=False)
            return _Holdout(
                chosen, n, _Aucs(positive, score_a, score_b), scores=(positive, score_a, score_b)
            )
        loss_a = _losses(champion_scores, "champion_scores", label_codes, k)
        loss_b = _losses(challenger_scores, "challenger_scores", label_codes, k)
        matrix = np.column_stack([loss_a, loss_b])
        return _Holdout(chosen, n, _Columns(name, _row_picker(matrix), _means))
    counts = _Counts(name, k, label_codes, champion_codes, challenger_codes)
    correct = (champion_codes == label_codes, challenger_codes == label_codes)
    return _Holdout(chosen, n, counts, correct=correct)


def _distinct(array: NDArray[Any]) -> tuple[list[str | None], IntArray]:
    """The distinct values of a 1-D array as text (``None`` for a missing value) and each row's
    index into them. Numbers are text as classes are matched everywhere in seismo (see
    :class:`~seismo.performance.ClassificationSummary`): ``1`` and ``1.0`` are ``"1"``,
    ``True`` is ``"True"``. Only the distinct values are turned into text, so a million rows of
    a numeric or string dtype cost one ``np.unique``."""
    if array.dtype.kind == "O":
        found: dict[str | None, int] = {}
        index = np.fromiter(
            (found.setdefault(_text(item), len(found)) for item in array.tolist()),
            dtype=np.intp,
            count=len(array),
        )
        return list(found), index
    distinct, index = np.unique(array, return_inverse=True)
    texts = [_text(item) for item in distinct.tolist()]
    if len(set(texts)) == len(texts):
        return texts, np.asarray(index, dtype=np.intp).reshape(-1)
    merged: dict[str | None, int] = {}
    remap = np.array([merged.setdefault(text, len(merged)) for text in texts], dtype=np.intp)
    return list(merged), remap[np.asarray(index).reshape(-1)]


def _text(item: Any) -> str | None:
    if item is None:
        return None
    if isinstance(item, float | np.floating):
        if not math.isfinite(item):
            return None
        if float(item).is_integer():
            return str(int(item))
    if isinstance(item, bytes):
        return item.decode(errors="replace")
    return str(item)


def _class_values(values: ArrayLike, what: str, kind: str) -> tuple[list[str], IntArray]:
    """Distinct class names of a 1-D array and each row's index into them; missing refused."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{what} must be a 1-D sequence of class {kind}, got shape {array.shape}")
    names, index = _distinct(array)
    if None in names:
        missing = index == names.index(None)
        raise InputError(
            f"{what} has {int(np.count_nonzero(missing))} missing {kind} (None or NaN), the first "
            f"at row {int(np.flatnonzero(missing)[0])}; "
            + (
                "drop those rows from the holdout"
                if what == "y_true"
                else "every holdout row needs a prediction from both models"
            )
        )
    return [name for name in names if name is not None], index


def _class_list(classes: Sequence[str]) -> tuple[str, ...]:
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        raise InputError(f"classes must be a sequence of class names, got {classes!r}")
    names, index = _class_values(np.asarray(list(classes), dtype=object), "classes", "names")
    if len(names) < 2 or len(names) != len(index):
        raise InputError(f"classes must be two or more distinct names, got {list(classes)!r}")
    return tuple(names)


def _finite(values: ArrayLike, what: str, n: int | None) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers") from None
    if array.ndim != 1 or (n is not None and len(array) != n):
        expected = "" if n is None else f" of length {n}"
        raise InputError(f"{what} must be a 1-D array{expected}, got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        raise InputError(
            f"{what} has {int(bad.sum())} NaN or infinite values, the first at row "
            f"{int(np.flatnonzero(bad)[0])}; both models must be judged on the same complete "
            "rows, so drop or fix those rows"
        )
    return array


def _binary_scores(values: ArrayLike, what: str, n: int, *, bounded: bool) -> FloatArray:
    """Scores of the positive class: 1-D, or the last column of (n, 2) probabilities."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers") from None
    if array.ndim == 2 and array.shape == (n, 2):
        array = array[:, 1]
    if array.shape != (n,):
        raise InputError(
            f"{what} must hold one score per row (the positive class's probability), shape "
            f"({n},) or ({n}, 2); got {array.shape}"
        )
    array = _finite(array, what, n)
    if bounded:
        _check_probabilities(array, what)
    return array


def _check_probabilities(array: FloatArray, what: str) -> None:
    outside = (array < 0.0) | (array > 1.0)
    if outside.any():
        first = int(np.flatnonzero(outside.reshape(len(array), -1).any(axis=1))[0])
        raise InputError(
            f"{what} must be probabilities in [0, 1]; {int(outside.sum())} values are not, the "
            f"first at row {first}"
        )


def _losses(values: ArrayLike, what: str, labels: IntArray, k: int) -> FloatArray:
    """Per-row log loss ``-log p(label)``, probabilities clipped to [1e-15, 1 - 1e-15]."""
    n = len(labels)
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers") from None
    if k == 2 and (array.ndim == 1 or array.shape == (n, 2)):
        positive = _binary_scores(array, what, n, bounded=True)
        true_probability = np.where(labels == 1, positive, 1.0 - positive)
    else:
        if array.shape != (n, k):
            raise InputError(
                f"{what} must be ({n}, {k}) class probabilities in the order of classes, got "
                f"shape {array.shape}"
            )
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            raise InputError(
                f"{what} has {int(bad.sum())} rows with NaN or infinite values, the first at row "
                f"{int(np.flatnonzero(bad)[0])}; drop or fix those rows"
            )
        _check_probabilities(array, what)
        total = array.sum(axis=1)
        off = np.abs(total - 1.0) > SUM_TOLERANCE
        if off.any():
            first = int(np.flatnonzero(off)[0])
            raise InputError(
                f"{what} rows must sum to 1 (class probabilities); {int(off.sum())} do not, the "
                f"first at row {first} (sum {total[first]:.6g})"
            )
        true_probability = array[np.arange(n), labels] / total
    return np.asarray(-np.log(np.clip(true_probability, EPSILON, 1.0 - EPSILON)), dtype=np.float64)


def _booleans(values: ArrayLike, what: str) -> NDArray[np.bool_]:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) == 0:
        raise InputError(f"{what} must be a non-empty 1-D array of booleans, got {array.shape}")
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind in "iuf" and bool(np.all((array == 0) | (array == 1))):
        return np.asarray(array == 1, dtype=np.bool_)
    raise InputError(f"{what} must be booleans (True/False or 0/1), got dtype {array.dtype}")


def _check_alpha(alpha: float) -> float:
    value = float(alpha)
    if not 0.0 < value < 0.5:
        raise InputError(f"alpha must lie strictly between 0 and 0.5, got {alpha!r}")
    return value


def _check_resamples(resamples: int, alpha: float) -> int:
    if isinstance(resamples, bool) or not isinstance(resamples, int | np.integer):
        raise InputError(f"resamples must be a whole number, got {resamples!r}")
    if (int(resamples) + 1) * alpha <= 1.0:
        raise InputError(
            f"with resamples={resamples} the bootstrap p-value is never below alpha={alpha:g}; "
            f"use at least {math.floor(1.0 / alpha)} resamples"
        )
    return int(resamples)


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


# ----------------------------------------------------------------------------- bootstrap


def paired_bootstrap(
    *,
    y_true: ArrayLike,
    champion: ArrayLike,
    challenger: ArrayLike,
    task: Task,
    metric: str,
    classes: Sequence[str] | None = None,
    champion_scores: ArrayLike | None = None,
    challenger_scores: ArrayLike | None = None,
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
) -> BootstrapResult:
    """Paired bootstrap of the improvement in ``metric`` (any registry metric but roc_auc).

    Each replicate resamples the holdout rows with replacement once and computes both models'
    metric on that resample; see the module docstring for how the resampling goes through the
    rows' counts, and :func:`compare_models` for the arguments.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> y = rng.normal(50.0, 10.0, 5000)
    >>> champion, challenger = y + rng.normal(0, 5.0, 5000), y + rng.normal(0, 4.8, 5000)
    >>> r = paired_bootstrap(
    ...     y_true=y, champion=champion, challenger=challenger, task="regression", metric="rmse"
    ... )
    >>> round(r.champion, 3), round(r.challenger, 3), round(r.improvement, 3), r.exact
    (5.006, 4.738, 0.268, False)
    >>> [round(end, 3) for end in r.interval], f"{r.p_value:.4f}", r.groups
    ([0.157, 0.377], '0.0005', 1024)
    """
    alpha = _check_alpha(alpha)
    resamples = _check_resamples(resamples, alpha)
    seed = _check_seed(seed)
    holdout = _prepare(
        y_true=y_true,
        champion=champion,
        challenger=challenger,
        task=task,
        metric=metric,
        classes=classes,
        champion_scores=champion_scores,
        challenger_scores=challenger_scores,
    )
    return _bootstrap(holdout, alpha, resamples, seed)


def _bootstrap(holdout: _Holdout, alpha: float, resamples: int, seed: int) -> BootstrapResult:
    chosen = holdout.metric
    paired = holdout.paired
    rng = np.random.default_rng(seed)
    if isinstance(paired, _Counts):
        # Rows of one (label, champion, challenger) cell are equal: resample the cells.
        sizes, labels, champion, challenger = paired.cells(None)
        replicates = []
        for counts in _draw_counts(sizes, resamples, rng):
            a, b = paired.from_weights(counts.astype(np.float64), labels, champion, challenger)
            replicates.append(_improvement(chosen, a, b))
        rows, groups, exact = holdout.rows, len(sizes), True
    elif isinstance(paired, _Columns):
        matrix = paired.columns(None)
        rows = len(matrix)
        grouped = _group_rows(matrix, paired.evaluate, chosen)
        replicates = []
        for counts in _draw_counts(grouped.sizes, resamples, rng):
            sums = counts @ grouped.means
            if grouped.covariances is not None:
                sums += _within_noise(counts, grouped.covariances, rng)
            a, b = paired.evaluate(sums / rows)
            replicates.append(_improvement(chosen, a, b))
        groups, exact = len(grouped.sizes), grouped.covariances is None
    else:
        raise InputError("roc_auc is not a mean over rows; compare ROC AUCs with delong")
    improvements = np.concatenate(replicates)
    champion_value, challenger_value = paired.values(None)
    better = np.asarray(improvements > 0.0, dtype=np.bool_)  # NaN (undefined) is not better
    p_value = (1.0 + (resamples - int(np.count_nonzero(better)))) / (resamples + 1.0)
    defined = improvements[np.isfinite(improvements)]
    if len(defined):
        low, high = np.quantile(defined, [alpha, 1.0 - alpha])
        interval = (float(low), float(high))
    else:
        interval = (math.nan, math.nan)
    return BootstrapResult(
        metric=chosen.name,
        rows=rows,
        champion=champion_value,
        challenger=challenger_value,
        improvement=float(_improvement(chosen, champion_value, challenger_value)),
        interval=interval,
        p_value=p_value,
        resamples=resamples,
        groups=groups,
        exact=exact,
        alpha=alpha,
    )


def _draw_counts(
    sizes: NDArray[np.int64], resamples: int, rng: np.random.Generator
) -> Iterator[NDArray[np.int64]]:
    """Chunks of (replicates x groups) counts: how many of ``n = sizes.sum()`` rows drawn with
    replacement fall in each group, i.e. ``Multinomial(n, sizes / n)`` per replicate."""
    n = int(sizes.sum())
    groups = len(sizes)
    chunk = max(1, _CHUNK_CELLS // groups)
    singletons = bool(np.all(sizes == 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        if singletons:
            # One row per group: draw the row indices themselves (the textbook bootstrap), which
            # is faster than numpy's multinomial over as many categories.
            drawn = rng.integers(0, n, size=(size, n))
            drawn += np.arange(size)[:, None] * n
            yield np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n)
        else:
            yield rng.multinomial(n, sizes / n, size=size)


@dataclass(frozen=True)
class _Grouped:
    means: FloatArray  # (groups, d)
    sizes: NDArray[np.int64]  # (groups,)
    covariances: FloatArray | None  # (groups, d * d), population covariance within a group


def _group_rows(
    matrix: FloatArray,
    evaluate: Callable[[FloatArray], tuple[FloatArray, FloatArray]],
    chosen: Metric,
) -> _Grouped:
    """Rows themselves up to ``BOOTSTRAP_GROUPS`` rows; beyond, that many groups of consecutive
    rows in the order of their influence on the improvement (see the module docstring)."""
    n, d = matrix.shape
    if n <= BOOTSTRAP_GROUPS:
        return _Grouped(matrix, np.ones(n, dtype=np.int64), None)
    centre = matrix.mean(axis=0)
    spread = matrix.std(axis=0)
    gradient = np.zeros(d)
    for j in range(d):
        step = 1e-6 * max(abs(float(centre[j])), float(spread[j]), 1e-300)
        shifted = np.tile(centre, (2, 1))
        shifted[0, j] += step
        shifted[1, j] -= step
        a, b = evaluate(shifted)
        change = _improvement(chosen, a, b)
        slope = float(change[0] - change[1]) / (2.0 * step)
        gradient[j] = slope if math.isfinite(slope) else 0.0
    influence = (matrix - centre) @ gradient
    order = np.argsort(influence)
    ordered = matrix[order]
    # The most influential rows (a quarter of the groups at each end) stay rows of their own:
    # outliers decide the shape of the bootstrap distribution, and so are resampled exactly.
    tail = BOOTSTRAP_GROUPS // 4
    middle = BOOTSTRAP_GROUPS - 2 * tail
    bounds = np.concatenate(
        [
            np.arange(tail),
            tail + (np.arange(middle + 1) * (n - 2 * tail)) // middle,
            np.arange(n - tail + 1, n + 1),
        ]
    )
    sizes = np.diff(bounds).astype(np.int64)
    means = np.add.reduceat(ordered, bounds[:-1], axis=0) / sizes[:, None]
    deviations = ordered - np.repeat(means, sizes, axis=0)
    groups = len(sizes)
    covariances = np.empty((groups, d, d))
    for i in range(d):
        for j in range(i, d):
            products = np.add.reduceat(deviations[:, i] * deviations[:, j], bounds[:-1])
            covariances[:, i, j] = covariances[:, j, i] = products / sizes
    return _Grouped(means, sizes, covariances.reshape(groups, d * d))


def _within_noise(
    counts: NDArray[np.int64], covariances: FloatArray, rng: np.random.Generator
) -> FloatArray:
    """Per replicate, a normal draw with covariance ``sum_g counts_g * cov_g``: the spread of the
    drawn rows' sum around ``sum_g counts_g * mean_g``."""
    d = math.isqrt(covariances.shape[1])
    covariance = (counts.astype(np.float64) @ covariances).reshape(-1, d, d)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    scaled = np.sqrt(np.clip(eigenvalues, 0.0, None)) * rng.standard_normal(eigenvalues.shape)
    return np.asarray(np.einsum("rij,rj->ri", eigenvectors, scaled), dtype=np.float64)


def _improvement(chosen: Metric, champion: Any, challenger: Any) -> Any:
    """Signed so that > 0 means the challenger is better (works on floats and arrays)."""
    if chosen.better == "higher":
        return challenger - champion
    if chosen.better == "lower":
        return champion - challenger
    return np.abs(champion) - np.abs(challenger)


# ----------------------------------------------------------------------------- the decision


def compare_models(
    *,
    y_true: ArrayLike,
    champion: ArrayLike,
    challenger: ArrayLike,
    task: Task,
    metric: str,
    classes: Sequence[str] | None = None,
    champion_scores: ArrayLike | None = None,
    challenger_scores: ArrayLike | None = None,
    margin: float = 0.0,
    alpha: float = 0.05,
    segments: Mapping[str, Sequence[Any]] | None = None,
    segment_tolerance: float = 0.02,
    min_segment_rows: int = 50,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Does the challenger beat the champion on this holdout? (See the module docstring.)

    Parameters
    ----------
    y_true : array_like
        The holdout's labels: class names for classification (``1``, ``1.0`` and ``"1"`` are
        the same class), numbers for regression. No missing values.
    champion, challenger : array_like
        Each model's predictions for the same rows (class names, or numbers).
    task : {"classification", "regression"}
    metric : str
        A registry metric of ``task`` (:func:`seismo.performance.metrics.metric_names`).
    classes : sequence of str, optional
        The class list; on two classes ``classes[-1]`` is the positive one and scores are its
        probability. Without it the classes are the sorted values seen; then precision, recall,
        F1, ROC AUC and log loss on two classes need the labels to be 0/1 or False/True (the
        positive class is otherwise ambiguous), and log loss on more classes needs it (for the
        order of the score columns).
    champion_scores, challenger_scores : array_like, optional
        For roc_auc and log_loss: the positive class's probability per row (binary; any
        ranking score for roc_auc), or (rows, k) class probabilities in ``classes`` order.
        The other classification metrics ignore them.
    margin : float
        The improvement the challenger must at least reach (>= 0, in the metric's units).
    alpha : float
        One-sided significance level of the test (and 1 - 2 alpha for the interval).
    segments : mapping of str to sequence, optional
        Segment columns (e.g. region, device), one value per row.
    segment_tolerance : float
        How much worse than the champion (in the metric's units) the challenger may be on a
        segment value.
    min_segment_rows : int
        Segment values with fewer rows are reported, not judged.
    resamples, seed : int
        Bootstrap replicates and seed (bootstrap metrics only).

    Raises
    ------
    InputError
        On an unknown metric or one of the other task, mismatched lengths, empty or missing
        data, unknown labels, scores that are missing or are not probabilities, bad
        parameters, or a segment column that does not fit.

    Examples
    --------
    >>> rng = np.random.default_rng(4)
    >>> y = rng.normal(100.0, 20.0, 3000)
    >>> region = np.where(rng.random(3000) < 0.8, "north", "south")
    >>> champion = y + rng.normal(0.0, 8.0, 3000)
    >>> challenger = y + np.where(region == "north", rng.normal(0.0, 4.0, 3000), 12.0)
    >>> result = compare_models(
    ...     y_true=y, champion=champion, challenger=challenger, task="regression",
    ...     metric="mae", segments={"region": region}, segment_tolerance=0.5,
    ... )
    >>> result.passed, round(result.improvement, 3), result.p_value < 0.05
    (False, 1.465, True)
    >>> for reason in result.reasons:
    ...     print(reason)
    segment region=south (595 rows): challenger mae 12 vs champion 6.49 (-5.51), worse by more
    than the tolerance 0.5
    """
    margin = _check_non_negative(margin, "margin")
    alpha = _check_alpha(alpha)
    segment_tolerance = _check_non_negative(segment_tolerance, "segment_tolerance")
    if isinstance(min_segment_rows, bool) or not isinstance(min_segment_rows, int | np.integer):
        raise InputError(f"min_segment_rows must be a whole number, got {min_segment_rows!r}")
    if min_segment_rows < 1:
        raise InputError(f"min_segment_rows must be at least 1, got {min_segment_rows}")
    holdout = _prepare(
        y_true=y_true,
        champion=champion,
        challenger=challenger,
        task=task,
        metric=metric,
        classes=classes,
        champion_scores=champion_scores,
        challenger_scores=challenger_scores,
    )
    segment_rows = _segment_rows(segments, holdout.rows)
    chosen = holdout.metric
    test: TestName
    if holdout.correct is not None and chosen.name == "accuracy":
        test = "mcnemar"
        mc = mcnemar(*holdout.correct, alpha=alpha)
        champion_value, challenger_value = mc.champion, mc.challenger
        improvement, interval, p_value = mc.improvement, mc.interval, mc.p_value
        detail = (
            f"McNemar ({mc.method}; {mc.challenger_only} rows right only by the challenger, "
            f"{mc.champion_only} only by the champion)"
        )
    elif holdout.scores is not None:
        test = "delong"
        dl = delong(*holdout.scores, alpha=alpha)
        champion_value, challenger_value = dl.champion, dl.challenger
        improvement, interval, p_value = dl.improvement, dl.interval, dl.p_value
        detail = f"DeLong (z = {dl.statistic:.3g})"
    else:
        test = "paired_bootstrap"
        bs = _bootstrap(holdout, alpha, _check_resamples(resamples, alpha), _check_seed(seed))
        champion_value, challenger_value = bs.champion, bs.challenger
        improvement, interval, p_value = bs.improvement, bs.interval, bs.p_value
        detail = f"paired bootstrap ({bs.resamples} resamples)"
    compared = tuple(
        _segment_comparison(column, value, rows, holdout, segment_tolerance, min_segment_rows)
        for column, value, rows in segment_rows
    )
    return _decide(
        chosen=chosen,
        test=test,
        rows=holdout.rows,
        champion=champion_value,
        challenger=challenger_value,
        improvement=improvement,
        interval=interval,
        p_value=p_value,
        margin=margin,
        alpha=alpha,
        segments=compared,
        segment_tolerance=segment_tolerance,
        min_segment_rows=min_segment_rows,
        detail=detail,
    )


def _check_non_negative(value: float, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number >= 0, got {value!r}") from None
    if not (math.isfinite(number) and number >= 0.0):
        raise InputError(f"{what} must be a finite number >= 0, got {value!r}")
    return number


def _segment_rows(
    segments: Mapping[str, Sequence[Any]] | None, n: int
) -> list[tuple[str, str, IntArray]]:
    """(column, value, row indices) of every value of every segment column."""
    if segments is None:
        return []
    if not isinstance(segments, Mapping):
        raise InputError(
            "segments must map a column name to one value per row, e.g. {'region': regions}"
        )
    out: list[tuple[str, str, IntArray]] = []
    for column, values in segments.items():
        if not isinstance(column, str):
            raise InputError(f"segment column names must be strings, got {column!r}")
        array = np.asarray(values)
        if array.ndim != 1 or len(array) != n:
            raise InputError(
                f"segment column {column!r} must hold one value per holdout row ({n}), got shape "
                f"{array.shape}"
            )
        found, codes = _distinct(array)
        names = np.array([_MISSING if value is None else value for value in found], dtype=str)
        if len(names) > MAX_SEGMENT_VALUES:
            raise InputError(
                f"segment column {column!r} has {len(names)} distinct values (at most "
                f"{MAX_SEGMENT_VALUES}); segments are a few groups such as region or device, "
                "so bin it first"
            )
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        for index in np.argsort(names, kind="stable").tolist():
            out.append((column, str(names[index]), order[bounds[index] : bounds[index + 1]]))
    return out


def _segment_comparison(
    column: str,
    value: str,
    rows: IntArray,
    holdout: _Holdout,
    tolerance: float,
    min_rows: int,
) -> SegmentComparison:
    champion, challenger = holdout.paired.values(rows)
    improvement = float(_improvement(holdout.metric, champion, challenger))
    judged = len(rows) >= min_rows and math.isfinite(improvement)
    return SegmentComparison(
        column=column,
        value=value,
        rows=len(rows),
        champion=champion,
        challenger=challenger,
        improvement=improvement,
        within_tolerance=not judged or improvement >= -tolerance,
        judged=judged,
    )


def _decide(
    *,
    chosen: Metric,
    test: TestName,
    rows: int,
    champion: float,
    challenger: float,
    improvement: float,
    interval: tuple[float, float],
    p_value: float,
    margin: float,
    alpha: float,
    segments: tuple[SegmentComparison, ...],
    segment_tolerance: float,
    min_segment_rows: int,
    detail: str,
) -> Comparison:
    name = chosen.name + (" (|bias|, nearer 0 is better)" if chosen.better == "zero" else "")
    large_enough = improvement >= margin  # False for NaN
    improvement_reason = (
        f"challenger {name} {_number(challenger)} vs champion {_number(champion)}: improvement "
        f"{_signed(improvement)} {'>=' if large_enough else '<'} margin {margin:g}"
    )
    significant = p_value < alpha
    level = f"{100.0 * (1.0 - 2.0 * alpha):g}%"
    test_reason = (
        f"{detail}: one-sided p = {p_value:.3g} {'<' if significant else '>='} alpha {alpha:g}; "
        f"{level} interval of the improvement [{_signed(interval[0])}, {_signed(interval[1])}]"
    )
    judged = [segment for segment in segments if segment.judged]
    failing = [segment for segment in judged if not segment.within_tolerance]
    segment_reasons = [
        f"segment {s.column}={s.value} ({s.rows} rows): challenger {chosen.name} "
        f"{_number(s.challenger)} vs champion {_number(s.champion)} ({_signed(s.improvement)}), "
        f"worse by more than the tolerance {segment_tolerance:g}"
        for s in failing
    ]
    passed = large_enough and significant and not failing
    if passed:
        reasons = [improvement_reason, test_reason]
        if segments:
            unjudged = len(segments) - len(judged)
            sentence = (
                f"all {len(judged)} segment values with at least {min_segment_rows} rows are "
                f"within the tolerance {segment_tolerance:g}"
            )
            if judged:
                worst = min(judged, key=lambda s: s.improvement)
                sentence += f" (worst {worst.column}={worst.value}: {_signed(worst.improvement)})"
            if unjudged:
                sentence += f"; {unjudged} not judged (fewer rows or metric undefined)"
            reasons.append(sentence)
    else:
        reasons = [
            *([] if large_enough else [improvement_reason]),
            *([] if significant else [test_reason]),
            *segment_reasons,
        ]
    return Comparison(
        metric=chosen.name,
        test=test,
        rows=rows,
        champion=float(champion),
        challenger=float(challenger),
        improvement=float(improvement),
        interval=(float(interval[0]), float(interval[1])),
        p_value=float(p_value),
        margin=margin,
        alpha=alpha,
        segments=segments,
        passed=bool(passed),
        reasons=tuple(reasons),
    )


def _number(value: float) -> str:
    return "undefined" if not math.isfinite(value) else f"{value:.4g}"


def _signed(value: float) -> str:
    return "undefined" if not math.isfinite(value) else f"{value:+.4g}"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ----------------------------------------------------------------------------- two samples


@dataclass(frozen=True)
class GroupComparison:
    """Two versions judged on *different* rows (a canary: each request went to one of them).

    ``improvement`` is signed as everywhere here (> 0: the challenger is better) and
    ``interval`` is its percentile bootstrap interval at level ``1 - 2 alpha``, each replicate
    resampling the two groups independently.
    """

    metric: str
    champion_rows: int
    challenger_rows: int
    champion: float
    challenger: float
    improvement: float
    interval: tuple[float, float]
    alpha: float
    resamples: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "champion_rows": self.champion_rows,
            "challenger_rows": self.challenger_rows,
            "champion": _finite_or_none(self.champion),
            "challenger": _finite_or_none(self.challenger),
            "improvement": _finite_or_none(self.improvement),
            "interval": [_finite_or_none(self.interval[0]), _finite_or_none(self.interval[1])],
            "alpha": self.alpha,
            "resamples": self.resamples,
        }


Group = tuple[ArrayLike, ArrayLike, ArrayLike | None]  # labels, outputs, scores


def compare_groups(
    *,
    champion: Group,
    challenger: Group,
    task: Task,
    metric: str,
    classes: Sequence[str] | None = None,
    alpha: float = 0.05,
    resamples: int = 1000,
    seed: int = 0,
) -> GroupComparison:
    """The challenger's improvement over the champion when each answered its own rows.

    Each group is ``(labels, outputs, scores)`` (scores: positive-class probabilities, for
    roc_auc and log_loss). The metric of each group is computed as :func:`compare_models`
    computes it; the interval comes from resampling each group's rows independently.
    """
    if not 0 < alpha < 0.5:
        raise InputError(f"alpha must lie in (0, 0.5), got {alpha}")
    if resamples < 100:
        raise InputError(f"resamples: at least 100, got {resamples}")
    prepared = []
    for labels, outputs, scores in (champion, challenger):
        prepared.append(
            _prepare(
                y_true=labels,
                champion=outputs,
                challenger=outputs,
                task=task,
                metric=metric,
                classes=classes,
                champion_scores=scores,
                challenger_scores=scores,
            )
        )
    chosen = prepared[0].metric
    ours, theirs = (holdout.paired.values(None)[0] for holdout in prepared)
    rng = np.random.default_rng(seed)
    replicates = np.empty(resamples)
    for i in range(resamples):
        a, b = (
            holdout.paired.values(rng.integers(0, holdout.rows, holdout.rows))[0]
            for holdout in prepared
        )
        replicates[i] = _improvement(chosen, a, b)
    finite = replicates[np.isfinite(replicates)]
    if len(finite) < resamples // 2:
        low = high = math.nan
    else:
        low, high = (float(v) for v in np.quantile(finite, [alpha, 1 - alpha]))
    return GroupComparison(
        metric=chosen.name,
        champion_rows=prepared[0].rows,
        challenger_rows=prepared[1].rows,
        champion=float(ours),
        challenger=float(theirs),
        improvement=float(_improvement(chosen, ours, theirs)),
        interval=(low, high),
        alpha=alpha,
        resamples=resamples,
    )
