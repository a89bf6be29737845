"""Weighted metric arithmetic in numpy, shared by every task kind.

Each function takes `weights`, a (B, n) array of non-negative row counts (one row per
bootstrap resample; a single row of ones is the plain metric) and returns B values. A
weighted metric equals the plain one on the rows repeated by their counts: counts enter as
matrix products (`weights @ indicator`), and the rank metrics sort the scores once and take
cumulative sums over groups of tied scores, so no resample is looped over in Python.
"""

from __future__ import annotations

from typing import Literal

import numpy as np


def _sums(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`weights @ values` for 0/1 or numeric per-row `values` ((n,) or (n, k)): summed in
    int64 when both are counts and indicators (exact, and no float copy of the weights);
    float32 weights (the bootstrap's counts) with integer values go to float32 BLAS (exact
    below 2^24); other values to float64 BLAS on an explicit copy of the weights (numpy's
    mixed-type product is about 10 times slower than the copy and the product)."""
    if weights.dtype.kind in "iub" and values.dtype.kind in "iub":
        return np.matmul(weights, values, dtype=np.int64)
    if weights.dtype == np.float32 and values.dtype.kind in "iub":
        return (weights @ values.astype(np.float32)).astype(np.float64)
    return weights.astype(np.float64, copy=False) @ values.astype(np.float64, copy=False)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of per-row `values` (n,); NaN for a resample without rows."""
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _sums(weights, values) / total


def _f1(true_count: np.ndarray, predicted_count: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (#true + #predicted), 0 where a label is neither true nor predicted."""
    denominator = true_count + predicted_count
    return np.divide(2 * hits, denominator, out=np.zeros(hits.shape), where=denominator > 0)


def macro_f1_labels(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean F1 over the labels present in a resample's truth or predictions, as
    scikit-learn's `f1_score(average="macro", zero_division=0)`; 0 for a resample without
    rows. `truth` and `predicted` are label arrays (n,)."""
    n = len(truth)
    labels, index = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    true_index, predicted_index = index[:n], index[n:]
    true_onehot = true_index[:, None] == np.arange(len(labels))
    predicted_onehot = predicted_index[:, None] == np.arange(len(labels))
    true_count = _sums(weights, true_onehot)
    predicted_count = _sums(weights, predicted_onehot)
    hits = _sums(weights, true_onehot & predicted_onehot)
    present = (true_count + predicted_count) > 0
    scores = _f1(true_count, predicted_count, hits)
    counted = present.sum(axis=1)
    return np.divide(scores.sum(axis=1), counted, out=np.zeros(len(weights)), where=counted > 0)


def macro_f1_columns(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean F1 over every column of (n, L) 0/1 indicator matrices (a column never true nor
    predicted scores 0), as scikit-learn's macro F1 of a multilabel indicator matrix."""
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    scores = _f1(
        _sums(weights, truth), _sums(weights, predicted), _sums(weights, truth & predicted)
    )
    return scores.mean(axis=1) if scores.shape[1] else np.zeros(len(weights))


def f1_positive(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """F1 of the positive class from 0/1 arrays (n,); 0 when nothing is true nor predicted."""
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    return _f1(_sums(weights, truth), _sums(weights, predicted), _sums(weights, truth & predicted))


class _Ranked:
    """Rows sorted once by score and split into positives and negatives (both ascending):
    the positives' weights, and each resample's cumulative weights of the negatives."""

    def __init__(self, truth: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> None:
        weights = _compact(weights)
        order = np.argsort(scores, kind="stable")  # the one sort
        positive = truth[order].astype(bool)
        positive_rows, negative_rows = order[positive], order[~positive]
        self.positive_scores = scores[positive_rows]
        self.negative_scores = scores[negative_rows]
        self.positive_weights = np.take(weights, positive_rows, axis=1)
        # Column k: the weight of the k lowest-scoring negatives.
        self.negatives_below = _cumulative(np.take(weights, negative_rows, axis=1))
        self.positives = self.positive_weights.sum(axis=1, dtype=np.float64)
        self.negatives = self.negatives_below[:, -1].astype(np.float64)

    def negatives_under(
        self, scores: np.ndarray, side: Literal["left", "right"] = "left"
    ) -> np.ndarray:
        """(B, len(scores)): per resample, the weight of negatives scoring below each of
        `scores` (side "right": at or below)."""
        columns = np.searchsorted(self.negative_scores, scores, side=side)
        return np.take(self.negatives_below, columns, axis=1)


def _compact(weights: np.ndarray) -> np.ndarray:
    """Integer counts (non-negative, by contract) as bytes when each fits in one, as
    bootstrap counts do: the rank metrics move each count several times, and a byte moves
    8 times faster than an int64."""
    if (
        weights.dtype.kind in "iu"
        and weights.dtype.itemsize > 1
        and weights.size
        and (weights.max() <= np.iinfo(np.uint8).max)
    ):
        return weights.astype(np.uint8)
    return weights


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Row-wise cumulative sums of (B, k) weights after a column of zeros: (B, k+1); small
    integer counts add up in int32 where no sum can overflow it (less memory to move)."""
    dtype = (
        np.result_type(weights.dtype, np.int32)
        if weights.dtype.kind in "iub"
        else (np.result_type(weights.dtype, np.float64))
    )
    if (
        weights.dtype.kind in "iub"
        and weights.dtype.itemsize < 4
        and (weights.shape[1] * np.iinfo(weights.dtype).max >= np.iinfo(np.int32).max)
    ):
        dtype = np.dtype(np.int64)
    total = np.zeros((len(weights), weights.shape[1] + 1), dtype=dtype)
    total[:, 1:] = weights
    return np.cumsum(total, axis=1, out=total)  # in place: no cast inside the running sum


def _paired(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per resample, the sum over rows of weight times value (both (B, k)), accumulated in
    int64 for counts (exact) or float64."""
    exact = weights.dtype.kind in "iub" and values.dtype.kind in "iub"
    total = np.einsum("bi,bi->b", weights, values, dtype=np.int64 if exact else np.float64)
    return total.astype(np.float64)


def roc_auc(truth: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the ROC curve: the chance that a positive row scores above a negative one,
    ties counting half (scikit-learn's `roc_auc_score`). NaN for a resample without a
    positive or without a negative row."""
    truth = truth.astype(bool)
    if len(scores) and np.all(scores == scores[0]):  # a constant score: every pair ties
        return np.where(_has_both(truth, weights), 0.5, np.nan)
    if not np.isin(scores[truth], scores[~truth]).any():  # no positive ties a negative
        return _untied_roc_auc(truth, scores, weights)
    ranked = _Ranked(truth, scores, weights)
    at = ranked.positive_scores
    pairs = _paired(ranked.positive_weights, ranked.negatives_under(at))
    tied = np.flatnonzero(np.isin(at, ranked.negative_scores))
    if len(tied):  # negatives with the same score as a positive count half
        pairs += 0.5 * _paired(
            ranked.positive_weights[:, tied],
            ranked.negatives_under(at[tied], "right") - ranked.negatives_under(at[tied]),
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        area = pairs / (ranked.positives * ranked.negatives)
    return np.where(np.isfinite(area), area, np.nan)


def _has_both(truth: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per resample: whether it holds a positive and a negative row."""
    positives = _sums(weights, truth)
    return (positives > 0) & (positives < _sums(weights, np.ones(len(truth), dtype=bool)))


def _untied_roc_auc(truth: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC when no positive shares its score with a negative (continuous outputs): one
    pass in score order, each positive paired with the negatives' running weight (the
    running sum is taken in place over the negatives' weights, zero at the positives)."""
    weights = _compact(weights)
    order = np.argsort(scores, kind="stable")
    positive = truth[order]
    ordered = np.take(weights, order, axis=1)
    exact = ordered.dtype.kind in "iub"
    running = ordered.astype(np.int64) if exact else ordered.copy()
    running[:, positive] = 0
    np.cumsum(running, axis=1, out=running)
    negatives = (running[:, -1] if len(order) else np.zeros(len(weights))).astype(np.float64)
    running *= ordered
    pairs = _sums(running, positive)
    positives = _sums(weights, truth).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        area = pairs / (positives * negatives)
    return np.where(np.isfinite(area), area, np.nan)


def average_precision(truth: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area under the precision-recall curve as scikit-learn's `average_precision_score`:
    the mean over positive rows of the precision at their score's threshold (every row
    scoring at least as high counts as predicted positive). NaN for a resample without a
    positive row (scikit-learn warns and returns 0 there)."""
    if len(scores) and np.all(scores == scores[0]):  # one threshold: the positives' share
        positives = _sums(weights, truth.astype(bool)).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = positives / _sums(weights, np.ones(len(truth), dtype=bool))
        return np.where(positives > 0, share, np.nan)
    ranked = _Ranked(truth, scores, weights)
    at = ranked.positive_scores
    # Positives scoring at least as high as each positive: all but those strictly below it.
    below = np.take(_cumulative(ranked.positive_weights), np.searchsorted(at, at), axis=1)
    true_positives = ranked.positives[:, None] - below
    selected = ranked.negatives[:, None] - ranked.negatives_under(at)
    selected += true_positives
    # In place: where nothing is selected, there is no true positive either (0 stays 0).
    precision = np.divide(true_positives, selected, out=true_positives, where=selected > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        area = _paired(ranked.positive_weights, precision) / ranked.positives
    return np.where(ranked.positives > 0, area, np.nan)


def r_squared(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """1 - SSE/SST around the resample's weighted mean of the truth; 0 where that truth has
    no variance (every counted row has the same value), NaN for a resample without rows."""
    truth = truth.astype(np.float64)
    errors = _sums(weights, (predicted.astype(np.float64) - truth) ** 2)
    centred = truth - truth.mean() if len(truth) else truth  # shifts keep SST; fewer roundings
    total = weights.sum(axis=1)
    counted = weights > 0
    varies = np.where(counted, truth, np.inf).min(axis=1, initial=np.inf) < np.where(
        counted, truth, -np.inf
    ).max(axis=1, initial=-np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = _sums(weights, centred**2) - _sums(weights, centred) ** 2 / total
        score = np.where(varies, 1.0 - errors / spread, 0.0)
    return np.where(total > 0, score, np.nan)
