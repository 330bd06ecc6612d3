"""Classification performance from a mergeable summary, with confidence intervals.

A :class:`ClassificationSummary` holds the confusion counts, per-class score histograms on a
fixed grid and the log-loss sums of a window of (label, prediction, score) rows. Summaries of
the same class list merge by adding, so a trailing window is a merge of daily summaries;
:meth:`ClassificationSummary.metrics` turns one into accuracy, precision, recall, F1, ROC AUC
and log loss, each with a confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.errors import InputError, ProfileMismatchError
from seismo.performance.intervals import (
    Estimate,
    Interval,
    check_confidence,
    normal,
    percentile,
    wilson,
)
from seismo.performance.metrics import metric_names
from seismo.profile._codec import decode_array, encode_array

__all__ = ["ClassMetrics", "ClassificationMetrics", "ClassificationSummary"]

FORMAT_VERSION = 1
#: Probabilities of the true class are clipped to [EPSILON, 1 - EPSILON] before the logarithm.
EPSILON = 1e-15
#: 2-D score rows whose sum is further than this from 1 are divided by their sum (and counted).
SUM_TOLERANCE = 1e-6
#: Total pseudo-count of the Dirichlet prior of the bootstrap, spread evenly over the cells.
PRIOR_MASS = 1.0
#: Bootstrap draws are simulated in chunks of at most this many cells.
_CHUNK_CELLS = 1 << 20


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    """Metrics of one class (one-vs-rest).

    Attributes
    ----------
    name : str
        The class.
    support : int
        Rows whose label is this class.
    predicted : int
        Rows predicted as this class.
    precision, recall : Estimate or None
        Wilson intervals; ``None`` when nothing was predicted as (precision) or labelled as
        (recall) this class.
    f1 : Estimate or None
        Bootstrap interval; ``None`` when the class appears neither as a label nor a prediction.
    roc_auc : Estimate or None
        One-vs-rest AUC of this class's probability (Hanley–McNeil interval); ``None`` without
        scores, or when every scored row or no scored row has this label. In a binary summary
        only the positive class has one.
    """

    name: str
    support: int
    predicted: int
    precision: Estimate | None
    recall: Estimate | None
    f1: Estimate | None
    roc_auc: Estimate | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "support": self.support,
            "predicted": self.predicted,
        }
        for key in ("precision", "recall", "f1", "roc_auc"):
            estimate: Estimate | None = getattr(self, key)
            out[key] = None if estimate is None else estimate.to_dict()
        return out


@dataclass(frozen=True, slots=True, eq=False)
class ClassificationMetrics:
    """Classification metrics of one summary, each an :class:`Estimate` or ``None``.

    Attributes
    ----------
    classes : tuple of str
        The class list; in a binary summary ``classes[1]`` is the positive class.
    average : str
        ``"binary"`` (precision, recall, F1 and ROC AUC of the positive class) or ``"macro"``
        (unweighted mean over the classes where the per-class value is defined).
    confidence : float
        Two-sided confidence level of the intervals.
    n : int
        Rows with a label in ``classes`` (the rows every metric is computed on).
    unknown_labels : int
        Rows left out because their label is not in ``classes``.
    unknown_predictions : int
        Rows (among ``n``) predicted as a class not in ``classes``: wrong for accuracy, a miss
        for the recall of their label, outside the confusion matrix.
    scored : int
        Rows (among ``n``) with a usable score: the rows of ROC AUC and log loss.
    accuracy, precision, recall, f1, roc_auc, log_loss : Estimate or None
        ``None`` when undefined for the data (e.g. ``roc_auc`` without scores or positives).
    confusion_matrix : ndarray of int64, shape (k, k)
        Rows: label; columns: prediction (scikit-learn's convention).
    per_class : tuple of ClassMetrics
        One entry per class, in ``classes`` order.
    """

    classes: tuple[str, ...]
    average: str
    confidence: float
    n: int
    unknown_labels: int
    unknown_predictions: int
    scored: int
    accuracy: Estimate | None
    precision: Estimate | None
    recall: Estimate | None
    f1: Estimate | None
    roc_auc: Estimate | None
    log_loss: Estimate | None
    confusion_matrix: NDArray[np.int64]
    per_class: tuple[ClassMetrics, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "classes": list(self.classes),
            "average": self.average,
            "confidence": self.confidence,
            "n": self.n,
            "unknown_labels": self.unknown_labels,
            "unknown_predictions": self.unknown_predictions,
            "scored": self.scored,
        }
        for key in metric_names("classification"):
            estimate: Estimate | None = getattr(self, key)
            out[key] = None if estimate is None else estimate.to_dict()
        out["confusion_matrix"] = self.confusion_matrix.tolist()
        out["per_class"] = [entry.to_dict() for entry in self.per_class]
        return out


@dataclass(frozen=True, eq=False)
class ClassificationSummary:
    """Sufficient statistics of (label, prediction, score) rows for a fixed class list.

    Rows whose label is not in ``classes`` are only counted (``unknown_labels``). For the other
    rows it keeps:

    - ``confusion`` (k × k, label × prediction) and ``unknown_predictions`` (per label, rows
      predicted as a class outside the list);
    - score histograms on ``score_bins`` equal-width bins of [0, 1] (bin ``floor(p · bins)``,
      1.0 in the last bin): row ``c`` of ``positive_hist`` / ``negative_hist`` counts the
      probability of class ``c`` among rows labelled ``c`` / not ``c`` (one-vs-rest). A binary
      summary keeps one row, for the positive class ``classes[1]``;
    - ``log_loss_sum`` and ``log_loss_sum_squares`` of ``-log p_true`` (the probability of the
      true class clipped to [1e-15, 1 - 1e-15]) over the ``scored`` rows.

    Score cleaning, counted per row (rows with an unknown label excluded): a NaN score (or a
    2-D row containing NaN or summing to 0 after clipping) makes the row unscored
    (``invalid_scores``); probabilities outside [0, 1] are clipped (``clipped_scores``); 2-D rows
    whose sum differs from 1 by more than 1e-6 are divided by their sum
    (``renormalized_scores``).

    ``merge`` adds every field (associative and commutative; exact but for the rounding of the
    two log-loss sums).

    Examples
    --------
    >>> classes = ("no", "yes")
    >>> day1 = ClassificationSummary.from_batch(
    ...     classes, ["yes", "no", "yes", "no"], ["yes", "no", "no", "no"], [0.9, 0.2, 0.4, 0.3]
    ... )
    >>> day2 = ClassificationSummary.from_batch(
    ...     classes, ["no", "yes", "maybe"], ["yes", "yes", "no"], [0.6, 0.8, 0.5]
    ... )
    >>> week = day1.merge(day2)
    >>> week.confusion.tolist(), week.unknown_labels
    ([[2, 1], [1, 2]], 1)
    >>> m = week.metrics()
    >>> round(m.accuracy.value, 4), round(m.accuracy.interval.low, 4), m.accuracy.interval.method
    (0.6667, 0.3, 'wilson')
    >>> round(m.roc_auc.value, 4), round(m.log_loss.value, 4)
    (0.8889, 0.4568)
    """

    classes: tuple[str, ...]
    score_bins: int
    confusion: NDArray[np.int64]
    unknown_predictions: NDArray[np.int64]
    unknown_labels: int
    positive_hist: NDArray[np.int64]
    negative_hist: NDArray[np.int64]
    scored: int
    invalid_scores: int
    clipped_scores: int
    renormalized_scores: int
    log_loss_sum: float
    log_loss_sum_squares: float

    @classmethod
    def empty(cls, classes: Sequence[str], score_bins: int = 1000) -> ClassificationSummary:
        """A summary of no rows: the class list and score grid, fixed once.

        Examples
        --------
        >>> empty = ClassificationSummary.empty(["cat", "dog", "fox"], score_bins=10)
        >>> empty.confusion.shape, empty.positive_hist.shape, empty.metrics().accuracy
        ((3, 3), (3, 10), None)
        """
        names = tuple(classes)
        if len(names) < 2 or not all(isinstance(name, str) for name in names):
            raise InputError(f"classes must be two or more class names (strings), got {names!r}")
        if len(set(names)) != len(names):
            raise InputError(f"classes must be distinct, got {names!r}")
        if isinstance(score_bins, bool) or not isinstance(score_bins, int) or score_bins < 1:
            raise InputError(f"score_bins must be a positive integer, got {score_bins!r}")
        k = len(names)
        rows = 1 if k == 2 else k
        return cls(
            classes=names,
            score_bins=score_bins,
            confusion=np.zeros((k, k), dtype=np.int64),
            unknown_predictions=np.zeros(k, dtype=np.int64),
            unknown_labels=0,
            positive_hist=np.zeros((rows, score_bins), dtype=np.int64),
            negative_hist=np.zeros((rows, score_bins), dtype=np.int64),
            scored=0,
            invalid_scores=0,
            clipped_scores=0,
            renormalized_scores=0,
            log_loss_sum=0.0,
            log_loss_sum_squares=0.0,
        )

    @classmethod
    def from_batch(
        cls,
        classes: Sequence[str],
        labels: ArrayLike,
        predictions: ArrayLike,
        scores: ArrayLike | None = None,
        score_bins: int = 1000,
    ) -> ClassificationSummary:
        """Summarise one batch of rows.

        Parameters
        ----------
        classes : sequence of str
            The class list (fixed for every summary that will be merged). Binary: two classes,
            ``classes[1]`` positive.
        labels, predictions : array_like
            Class names, one per row. Integer and boolean arrays are matched by their text
            (``1`` matches ``"1"``, ``True`` matches ``"True"``), float arrays likewise when the
            value is whole (``1.0`` matches ``"1"``); in object arrays only strings match.
            NaN, ``None`` and anything else not in ``classes`` is an unknown label (counted) or
            an unknown prediction (counted, and wrong).
        scores : array_like, optional
            ``None``; a 1-D array of probabilities of ``classes[1]`` (binary only); or an
            (n, k) array of class probabilities in ``classes`` order.
        score_bins : int
            Number of equal-width bins of [0, 1] for the score histograms.

        Raises
        ------
        InputError
            On a bad class list or arrays of mismatched shapes.

        Examples
        --------
        >>> s = ClassificationSummary.from_batch(
        ...     ["a", "b", "c"], ["a", "b", "c", "d"], ["a", "c", "c", "a"],
        ...     [[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.0, 0.1, 0.4], [0.3, 0.3, 0.4]],
        ... )
        >>> s.confusion.tolist(), s.unknown_labels, s.scored, s.renormalized_scores
        ([[1, 0, 0], [0, 0, 1], [0, 0, 1]], 1, 3, 1)
        """
        empty = cls.empty(classes, score_bins)
        names, k = empty.classes, len(empty.classes)
        label_codes = _codes(names, labels, "labels")
        prediction_codes = _codes(names, predictions, "predictions")
        if len(label_codes) != len(prediction_codes):
            raise InputError(
                f"labels and predictions differ in length ({len(label_codes)} and "
                f"{len(prediction_codes)})"
            )
        known = label_codes >= 0
        label = label_codes[known]
        predicted = prediction_codes[known]
        on_list = predicted >= 0
        confusion = np.bincount(label[on_list] * k + predicted[on_list], minlength=k * k).reshape(
            k, k
        )
        unknown_predictions = np.bincount(label[~on_list], minlength=k)
        summary = replace(
            empty,
            confusion=confusion.astype(np.int64),
            unknown_predictions=unknown_predictions.astype(np.int64),
            unknown_labels=int(len(label_codes) - len(label)),
        )
        if scores is None:
            return summary
        cleaned = _clean_scores(np.asarray(scores, dtype=np.float64), known, k)
        probabilities = cleaned.probabilities
        label = label[cleaned.usable]
        rows = np.arange(len(label))
        true_probability = (
            np.where(label == 1, probabilities, 1.0 - probabilities)
            if probabilities.ndim == 1
            else probabilities[rows, label]
        )
        losses = -np.log(np.clip(true_probability, EPSILON, 1.0 - EPSILON))
        bins = np.minimum((probabilities * score_bins).astype(np.int64), score_bins - 1)
        if k == 2:
            positive = bins if bins.ndim == 1 else bins[:, 1]
            is_positive = label == 1
            positive_hist = np.bincount(positive[is_positive], minlength=score_bins)[None, :]
            negative_hist = np.bincount(positive[~is_positive], minlength=score_bins)[None, :]
        else:
            offsets = np.arange(k) * score_bins
            every = np.bincount((bins + offsets).ravel(), minlength=k * score_bins)
            own = np.bincount(label * score_bins + bins[rows, label], minlength=k * score_bins)
            positive_hist = own.reshape(k, score_bins)
            negative_hist = (every - own).reshape(k, score_bins)
        return replace(
            summary,
            positive_hist=positive_hist.astype(np.int64),
            negative_hist=negative_hist.astype(np.int64),
            scored=len(label),
            invalid_scores=cleaned.invalid,
            clipped_scores=cleaned.clipped,
            renormalized_scores=cleaned.renormalized,
            log_loss_sum=float(losses.sum()),
            log_loss_sum_squares=float(np.square(losses).sum()),
        )

    @property
    def n(self) -> int:
        """Rows with a label in ``classes``."""
        return int(self.confusion.sum() + self.unknown_predictions.sum())

    @property
    def is_binary(self) -> bool:
        return len(self.classes) == 2

    def merge(self, other: ClassificationSummary) -> ClassificationSummary:
        """Summary of both batches; the class lists and score grids must be the same."""
        if self.classes != other.classes or self.score_bins != other.score_bins:
            raise ProfileMismatchError(
                f"merge: classification summaries of different class lists or score grids "
                f"({list(self.classes)}, {self.score_bins} bins vs {list(other.classes)}, "
                f"{other.score_bins} bins); summarise every batch with the same classes"
            )
        return ClassificationSummary(
            classes=self.classes,
            score_bins=self.score_bins,
            confusion=self.confusion + other.confusion,
            unknown_predictions=self.unknown_predictions + other.unknown_predictions,
            unknown_labels=self.unknown_labels + other.unknown_labels,
            positive_hist=self.positive_hist + other.positive_hist,
            negative_hist=self.negative_hist + other.negative_hist,
            scored=self.scored + other.scored,
            invalid_scores=self.invalid_scores + other.invalid_scores,
            clipped_scores=self.clipped_scores + other.clipped_scores,
            renormalized_scores=self.renormalized_scores + other.renormalized_scores,
            log_loss_sum=self.log_loss_sum + other.log_loss_sum,
            log_loss_sum_squares=self.log_loss_sum_squares + other.log_loss_sum_squares,
        )

    def metrics(
        self, confidence: float = 0.95, *, draws: int = 2000, seed: int = 0
    ) -> ClassificationMetrics:
        """Point estimates and two-sided intervals at level ``confidence``.

        Point estimates equal scikit-learn's on the same rows (macro averages as with
        ``zero_division=np.nan``: classes where a value is undefined are left out of the mean),
        except ROC AUC, which is within ``Estimate.bound`` of the exact value.

        Intervals:

        - accuracy, and per-class (so binary) precision and recall: Wilson score intervals,
          conditional on the number of rows, predictions and labels of the class.
        - F1 (per class and binary) and the macro precision, recall and F1 of multiclass
          summaries: parametric bootstrap over the confusion counts. Each of ``draws`` draws
          takes cell probabilities from a Dirichlet with parameters ``count + 1 / cells``
          (the observed counts plus a prior of total mass 1 spread over the cells, so empty
          cells can still vary) and recomputes the metrics from them; the interval is the
          equal-tailed percentile interval of the draws, widened if needed to contain the point
          estimate. Cost O(draws · k²) (about 0.1 s for 40 classes); seeded by ``seed``, so
          repeatable.
        - ROC AUC: the Hanley & McNeil (1982) standard error
          ``se = sqrt((A(1-A) + (P-1)(Q1-A²) + (N-1)(Q2-A²)) / (P N))``, ``Q1 = A/(2-A)``,
          ``Q2 = 2A²/(1+A)``, ``P`` and ``N`` the positive and negative counts. The normal
          interval is formed on the logit scale (``logit(A) ± z se / (A(1-A))``, mapped back),
          which keeps it inside (0, 1) and asymmetric near 1, and holds its coverage at small
          ``P``, ``N`` where the plain ``A ± z se`` falls short (measured: 90 % at 30 rows);
          then it is widened by the histogram bound on each side. Macro (one-vs-rest) AUC uses
          the mean of the per-class standard errors: an upper bound on the standard error of
          the mean whatever the correlation between classes. An AUC of exactly 0 or 1 gets a
          zero-width interval (beyond the bound).
        - log loss: normal interval from the sample variance of the per-row losses (from the
          sum of squares), clipped at 0.

        ROC AUC from histograms is the Mann–Whitney statistic with pairs in the same bin counted
        as one half. Pairs in different bins are ordered exactly, and a same-bin pair counts 0,
        1/2 or 1 in the exact AUC, so the exact AUC differs by at most ``bound`` = half the
        share of (positive, negative) pairs that share a bin (at most the probability that a
        positive and a negative fall in the same bin).

        The bootstrap and log-loss intervals need two or more rows (two scored rows), otherwise
        they are ``None``; Wilson and Hanley–McNeil intervals exist whenever the value does.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> truth = rng.random(400) < 0.3
        >>> score = np.clip(np.where(truth, 0.7, 0.35) + rng.normal(0.0, 0.2, 400), 0, 1)
        >>> labels = np.where(truth, "fraud", "ok")
        >>> predictions = np.where(score > 0.5, "fraud", "ok")
        >>> m = ClassificationSummary.from_batch(("ok", "fraud"), labels, predictions, score
        ...                                      ).metrics()
        >>> m.n, round(m.recall.value, 4), round(m.f1.value, 4), m.f1.interval.method
        (400, 0.8762, 0.6866, 'bootstrap')
        >>> round(m.roc_auc.value, 4), f"{m.roc_auc.bound:.1e}"
        (0.8977, '3.6e-04')
        """
        confidence = check_confidence(confidence)
        k = len(self.classes)
        confusion = self.confusion
        n = self.n
        support = confusion.sum(axis=1) + self.unknown_predictions
        predicted = confusion.sum(axis=0)
        hits = np.diag(confusion)
        f1_denominator = support + predicted
        simulated = _simulate(confusion, self.unknown_predictions, confidence, draws, seed, n)

        auc_parts = [
            _auc_parts(self.positive_hist[row], self.negative_hist[row])
            for row in range(self.positive_hist.shape[0])
        ]
        if self.is_binary:
            auc_parts = [None, *auc_parts]
        per_class_auc = [
            None if parts is None else _auc_estimate(parts, confidence) for parts in auc_parts
        ]
        per_class: list[ClassMetrics] = []
        for c, name in enumerate(self.classes):
            f1_interval = simulated.f1[c] if simulated is not None else None
            f1 = (
                _with_interval(2.0 * hits[c] / f1_denominator[c], f1_interval)
                if f1_denominator[c]
                else None
            )
            per_class.append(
                ClassMetrics(
                    name=name,
                    support=int(support[c]),
                    predicted=int(predicted[c]),
                    precision=_proportion(int(hits[c]), int(predicted[c]), confidence),
                    recall=_proportion(int(hits[c]), int(support[c]), confidence),
                    f1=f1,
                    roc_auc=per_class_auc[c],
                )
            )

        if self.is_binary:
            positive = per_class[1]
            precision, recall, f1 = positive.precision, positive.recall, positive.f1
            roc_auc = positive.roc_auc
        else:
            precision = _macro(
                [entry.precision for entry in per_class],
                None if simulated is None else simulated.macro_precision,
            )
            recall = _macro(
                [entry.recall for entry in per_class],
                None if simulated is None else simulated.macro_recall,
            )
            f1 = _macro(
                [entry.f1 for entry in per_class],
                None if simulated is None else simulated.macro_f1,
            )
            defined = [parts for parts in auc_parts if parts is not None]
            # The mean of the standard errors bounds the standard error of the mean of the
            # per-class AUCs whatever their correlation.
            roc_auc = (
                _auc_estimate(
                    (
                        float(np.mean([parts[0] for parts in defined])),
                        float(np.mean([parts[1] for parts in defined])),
                        float(np.mean([parts[2] for parts in defined])),
                    ),
                    confidence,
                )
                if defined
                else None
            )
        return ClassificationMetrics(
            classes=self.classes,
            average="binary" if k == 2 else "macro",
            confidence=confidence,
            n=n,
            unknown_labels=self.unknown_labels,
            unknown_predictions=int(self.unknown_predictions.sum()),
            scored=self.scored,
            accuracy=_proportion(int(hits.sum()), n, confidence),
            precision=precision,
            recall=recall,
            f1=f1,
            roc_auc=roc_auc,
            log_loss=self._log_loss(confidence),
            confusion_matrix=confusion.copy(),
            per_class=tuple(per_class),
        )

    def _log_loss(self, confidence: float) -> Estimate | None:
        m = self.scored
        if m == 0:
            return None
        mean = self.log_loss_sum / m
        if m < 2:
            return Estimate(mean, None)
        variance = max(self.log_loss_sum_squares - m * mean * mean, 0.0) / (m - 1)
        return Estimate(mean, normal(mean, math.sqrt(variance / m), confidence, lower=0.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "classification",
            "version": FORMAT_VERSION,
            "classes": list(self.classes),
            "score_bins": self.score_bins,
            "confusion": encode_array(self.confusion.ravel()),
            "unknown_predictions": encode_array(self.unknown_predictions),
            "unknown_labels": self.unknown_labels,
            "positive_hist": encode_array(self.positive_hist.ravel()),
            "negative_hist": encode_array(self.negative_hist.ravel()),
            "scored": self.scored,
            "invalid_scores": self.invalid_scores,
            "clipped_scores": self.clipped_scores,
            "renormalized_scores": self.renormalized_scores,
            "log_loss_sum": self.log_loss_sum,
            "log_loss_sum_squares": self.log_loss_sum_squares,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationSummary:
        if data.get("type") != "classification":
            raise InputError(f"not a classification summary (type {data.get('type')!r})")
        if data.get("version") != FORMAT_VERSION:
            raise InputError(
                f"classification summary format version {data.get('version')} is not supported "
                f"by this seismo (reads version {FORMAT_VERSION}); upgrade seismo"
            )
        empty = cls.empty([str(name) for name in data["classes"]], int(data["score_bins"]))

        def array(key: str, shape: tuple[int, ...]) -> NDArray[np.int64]:
            decoded = decode_array(data[key], np.int64)
            if decoded.size != math.prod(shape):
                raise InputError(f"classification summary field {key!r} has the wrong size")
            return decoded.reshape(shape)  # type: ignore[return-value]

        return cls(
            classes=empty.classes,
            score_bins=empty.score_bins,
            confusion=array("confusion", empty.confusion.shape),
            unknown_predictions=array("unknown_predictions", empty.unknown_predictions.shape),
            unknown_labels=int(data["unknown_labels"]),
            positive_hist=array("positive_hist", empty.positive_hist.shape),
            negative_hist=array("negative_hist", empty.negative_hist.shape),
            scored=int(data["scored"]),
            invalid_scores=int(data["invalid_scores"]),
            clipped_scores=int(data["clipped_scores"]),
            renormalized_scores=int(data["renormalized_scores"]),
            log_loss_sum=float(data["log_loss_sum"]),
            log_loss_sum_squares=float(data["log_loss_sum_squares"]),
        )


def _codes(classes: tuple[str, ...], values: ArrayLike, what: str) -> NDArray[np.intp]:
    """Index of each value in ``classes``, -1 when it is not there."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"{what} must be a 1-D array of class names, got shape {array.shape}")
    if array.dtype.kind in "iubS":
        array = array.astype(str)
    elif array.dtype.kind == "f":
        whole = np.isfinite(array) & (np.floor(array) == array)
        text = np.full(len(array), None, dtype=object)
        text[whole] = array[whole].astype(np.int64).astype(str)
        array = text
    if array.dtype.kind == "U":
        names = np.array(classes)
        order = np.argsort(names)
        ordered = names[order]
        position = np.minimum(np.searchsorted(ordered, array), len(ordered) - 1)
        return np.where(ordered[position] == array, order[position], -1).astype(np.intp)
    index = {name: i for i, name in enumerate(classes)}
    return np.fromiter(
        (index.get(value, -1) if isinstance(value, str) else -1 for value in array.tolist()),
        dtype=np.intp,
        count=len(array),
    )


@dataclass(frozen=True, slots=True)
class _CleanScores:
    probabilities: NDArray[np.float64]  # 1-D (binary, positive class) or (rows, k)
    usable: NDArray[np.bool_]  # which rows with a known label are scored
    invalid: int
    clipped: int
    renormalized: int


def _clean_scores(scores: NDArray[np.float64], known: NDArray[np.bool_], k: int) -> _CleanScores:
    n = len(known)
    if scores.ndim == 1:
        if k != 2:
            raise InputError(
                f"1-D scores need exactly two classes; with {k} classes pass an (n, {k}) array "
                "of class probabilities"
            )
        if len(scores) != n:
            raise InputError(f"scores has {len(scores)} rows, labels has {n}")
        scores = scores[known]
        usable = np.asarray(~np.isnan(scores), dtype=np.bool_)
        kept = scores[usable]
        outside = (kept < 0.0) | (kept > 1.0)
        return _CleanScores(
            np.clip(kept, 0.0, 1.0),
            usable,
            int(len(scores) - len(kept)),
            int(np.count_nonzero(outside)),
            0,
        )
    if scores.ndim != 2 or scores.shape != (n, k):
        raise InputError(f"scores must be 1-D or of shape ({n}, {k}), got {scores.shape}")
    scores = scores[known]
    outside_rows = np.asarray(((scores < 0.0) | (scores > 1.0)).any(axis=1), dtype=np.bool_)
    clipped = np.clip(scores, 0.0, 1.0)
    total = clipped.sum(axis=1)
    usable_rows = ~np.isnan(total) & (total > 0.0)
    kept = clipped[usable_rows]
    total = total[usable_rows]
    off = np.abs(total - 1.0) > SUM_TOLERANCE
    if off.any():
        kept[off] /= total[off, None]
    return _CleanScores(
        kept,
        usable_rows,
        int(len(scores) - len(kept)),
        int(np.count_nonzero(outside_rows[usable_rows])),
        int(np.count_nonzero(off)),
    )


def _proportion(successes: int, trials: int, confidence: float) -> Estimate | None:
    if trials == 0:
        return None
    return Estimate(successes / trials, wilson(successes, trials, confidence))


def _with_interval(value: float, interval: Interval | None) -> Estimate:
    """``value`` with a bootstrap interval widened, if needed, to contain it."""
    if interval is not None:
        interval = Interval(min(interval.low, value), max(interval.high, value), interval.method)
    return Estimate(float(value), interval)


def _macro(estimates: list[Estimate | None], interval: Interval | None) -> Estimate | None:
    values = [estimate.value for estimate in estimates if estimate is not None]
    if not values:
        return None
    return _with_interval(float(np.mean(values)), interval)


@dataclass(frozen=True, slots=True)
class _Simulated:
    f1: list[Interval | None]
    macro_precision: Interval | None
    macro_recall: Interval | None
    macro_f1: Interval | None


def _simulate(
    confusion: NDArray[np.int64],
    unknown_predictions: NDArray[np.int64],
    confidence: float,
    draws: int,
    seed: int,
    n: int,
) -> _Simulated | None:
    """Bootstrap intervals of F1 and the macro averages (see ``metrics``)."""
    if n < 2 or draws < 1:
        return None
    k = len(confusion)
    cells = (
        np.hstack([confusion, unknown_predictions[:, None]])
        if unknown_predictions.any()
        else confusion
    ).astype(np.float64)
    alpha = cells + PRIOR_MASS / cells.size
    support = cells.sum(axis=1)
    predicted = confusion.sum(axis=0)
    has_precision, has_recall = predicted > 0, support > 0
    has_f1 = (support + predicted) > 0
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // cells.size)
    f1_draws, precision_draws, recall_draws = [], [], []
    for start in range(0, draws, chunk):
        # Gamma draws are Dirichlet draws before normalising; every metric here is a ratio of
        # cell sums, so the normalisation cancels.
        gamma = rng.standard_gamma(alpha, size=(min(chunk, draws - start), *alpha.shape))
        diagonal = np.diagonal(gamma[:, :, :k], axis1=1, axis2=2)
        row_sums = gamma.sum(axis=2)
        column_sums = gamma[:, :, :k].sum(axis=1)
        # A class with no rows can draw sums that underflow to 0; its values are never used.
        with np.errstate(divide="ignore", invalid="ignore"):
            f1_draws.append(2.0 * diagonal / (row_sums + column_sums))
            precision_draws.append(diagonal / column_sums)
            recall_draws.append(diagonal / row_sums)
    f1 = np.concatenate(f1_draws)
    precision = np.concatenate(precision_draws)
    recall = np.concatenate(recall_draws)

    def macro(values: NDArray[np.float64], defined: NDArray[np.bool_]) -> Interval | None:
        if k == 2 or not defined.any():
            return None
        return percentile(values[:, defined].mean(axis=1), confidence)

    return _Simulated(
        f1=[percentile(f1[:, c], confidence) if has_f1[c] else None for c in range(k)],
        macro_precision=macro(precision, has_precision),
        macro_recall=macro(recall, has_recall),
        macro_f1=macro(f1, has_f1),
    )


def _auc_parts(
    positive_hist: NDArray[np.int64], negative_hist: NDArray[np.int64]
) -> tuple[float, float, float] | None:
    """(AUC, bound, Hanley–McNeil standard error) from two histograms on the same bins."""
    positives, negatives = int(positive_hist.sum()), int(negative_hist.sum())
    if positives == 0 or negatives == 0:
        return None
    pos = positive_hist.astype(np.float64)
    neg = negative_hist.astype(np.float64)
    below = np.cumsum(neg) - neg  # negatives in strictly lower bins
    pairs = float(positives) * float(negatives)
    wins = float(np.dot(pos, below)) / pairs
    ties = float(np.dot(pos, neg)) / pairs
    auc = min(max(wins + 0.5 * ties, 0.0), 1.0)
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / pairs
    return auc, 0.5 * ties, math.sqrt(max(variance, 0.0))


def _auc_estimate(parts: tuple[float, float, float], confidence: float) -> Estimate:
    """Interval on the logit scale, widened by the histogram bound on each side (see metrics)."""
    auc, bound, std_error = parts
    if 0.0 < auc < 1.0:
        logit = math.log(auc / (1.0 - auc))
        on_logit = normal(logit, std_error / (auc * (1.0 - auc)), confidence)
        low, high = _expit(on_logit.low), _expit(on_logit.high)
    else:
        low = high = auc
    return Estimate(
        auc, Interval(max(low - bound, 0.0), min(high + bound, 1.0), "hanley-mcneil"), bound
    )


def _expit(value: float) -> float:
    if value >= 0.0:
        return 1.0 / (1.0 + math.exp(-value))
    return math.exp(value) / (1.0 + math.exp(value))
