"""Classification metrics (own API, shaped like scikit-learn's): arguments are `(y_true, y_pred)`
or `(y_true, y_score)`, each a Tensor, NumPy array or list.

With TP, FP, FN, TN counted for one class (the course notes' table):
    precision = TP / (TP + FP)      recall (TPR) = TP / (TP + FN)      FPR = FP / (FP + TN)
    F1 = 2 * precision * recall / (precision + recall)   (the harmonic mean)
A ratio whose denominator is 0 is 0, without a warning (scikit-learn's zero_division=0, silenced).

Which classes: with `num_classes=K`, the labels 0..K-1 (row/column i of the confusion matrix is
class i, even if it never occurs); without it, the sorted labels occurring in y_true or y_pred,
as scikit-learn does. `average`: None gives one value per class (a float64 tensor); "binary"
(the default, as scikit-learn) the value for `pos_label`; "micro" pools the counts of all
classes (for single-label data: the accuracy); "macro" is the plain mean over classes;
"weighted" the mean weighted by each class's number of true samples.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor, from_numpy

__all__ = ["accuracy", "accuracy_score", "auc", "confusion_matrix", "f1_score", "precision", "precision_recall_f1",
           "precision_score", "recall", "recall_score", "roc_auc_score", "roc_curve"]

_AVERAGES = (None, "binary", "micro", "macro", "weighted")


def _array(y, name: str) -> np.ndarray:
    a = y.detach().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    return a


def _check_lengths(*arrays: np.ndarray) -> None:
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: {[len(a) for a in arrays]}")


def _labels_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both label vectors as 1-D arrays; scores/logits [N, C] as y_pred become their argmax (own)."""
    t, p = _array(y_true, "y_true"), _array(y_pred, "y_pred")
    if p.ndim == t.ndim + 1:
        p = p.argmax(-1)
    if t.ndim != 1 or p.ndim != 1:
        raise ValueError(f"expected 1-D label vectors (or y_pred of scores [N, C]), got y_true of shape {t.shape} "
                         f"and y_pred of shape {p.shape}")
    _check_lengths(t, p)
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):
            raise ValueError(f"{name} holds non-integer values, so it is not a vector of class labels (scores or "
                             f"probabilities?): threshold them first, e.g. (y_score > 0.5), or pass scores [N, C]")
    return t, p


def _classes(t: np.ndarray, p: np.ndarray, num_classes: int | None) -> np.ndarray:
    if num_classes is None:
        return np.union1d(t, p)
    both = np.concatenate([t, p])
    if both.dtype.kind not in "iub" or both.min() < 0 or both.max() >= num_classes:
        raise ValueError(f"with num_classes={num_classes} the labels must be integers in [0, {num_classes}); "
                         f"got values from {both.min()} to {both.max()}")
    return np.arange(num_classes)


def _confusion(t: np.ndarray, p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    k = len(classes)
    rows, cols = np.searchsorted(classes, t), np.searchsorted(classes, p)
    return np.bincount(rows * k + cols, minlength=k * k).reshape(k, k).astype(np.int64)


def _div(num, den) -> np.ndarray:
    """num / den, 0 where den == 0 (no warning)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def accuracy(y_true, y_pred) -> float:
    """The fraction of samples with y_pred == y_true. y_pred may also be scores or logits [N, C],
    then its argmax over the last dim is the prediction (own convenience)."""
    t, p = _labels_pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> Tensor:
    """An int64 [K, K] tensor: entry [i, j] counts samples of true class i predicted as class j."""
    t, p = _labels_pair(y_true, y_pred)
    return from_numpy(_confusion(t, p, _classes(t, p, num_classes)))


def precision_recall_f1(y_true, y_pred, average: str | None = "binary", pos_label=1,
                        num_classes: int | None = None) -> tuple:
    """(precision, recall, F1) in one pass over the confusion matrix (see the module docstring)."""
    if average not in _AVERAGES:
        raise ValueError(f"average has to be one of {_AVERAGES}, got {average!r}")
    t, p = _labels_pair(y_true, y_pred)
    classes = _classes(t, p, num_classes)
    cm = _confusion(t, p, classes)
    tp = np.diag(cm)
    predicted, support = cm.sum(0), cm.sum(1)
    if average == "micro":  # pool the counts over classes, then divide
        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()
    elif average == "binary":
        present = np.union1d(t, p)
        if len(present) > 2:
            raise ValueError("Target is multiclass but average='binary'. Please choose another average setting, "
                             "one of [None, 'micro', 'macro', 'weighted'].")
        if len(present) == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of {present.tolist()}")
        if pos_label not in classes:  # pos_label never occurs: TP = FP = FN = 0
            return 0.0, 0.0, 0.0
        k = int(np.searchsorted(classes, pos_label))
        tp, predicted, support = tp[k], predicted[k], support[k]
    prec, rec = _div(tp, predicted), _div(tp, support)
    f1 = _div(2 * tp, predicted + support)  # = 2PR / (P + R), and 0 where both are 0
    if average is None:
        return tuple(from_numpy(v) for v in (prec, rec, f1))
    if average == "macro":
        return tuple(float(v.mean()) for v in (prec, rec, f1))
    if average == "weighted":
        return tuple(float(_div((v * support).sum(), support.sum())) for v in (prec, rec, f1))
    return float(prec), float(rec), float(f1)


def precision(y_true, y_pred, average: str | None = "binary", pos_label=1, num_classes: int | None = None):
    """TP / (TP + FP): of the samples predicted as a class, the fraction that are that class."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[0]


def recall(y_true, y_pred, average: str | None = "binary", pos_label=1, num_classes: int | None = None):
    """TP / (TP + FN): of the samples of a class, the fraction predicted as that class."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[1]


def f1_score(y_true, y_pred, average: str | None = "binary", pos_label=1, num_classes: int | None = None):
    """The harmonic mean of precision and recall, 2PR / (P + R) (macro: the mean of per-class F1)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, num_classes)[2]


# scikit-learn's names for the same functions
accuracy_score, precision_score, recall_score = accuracy, precision, recall


# ------------------------------------------------------------ ROC

def _binary_targets(y_true, pos_label) -> np.ndarray:
    t = _array(y_true, "y_true")
    if pos_label is None:
        present = set(np.unique(t).tolist())
        if not (present <= {0, 1} or present <= {-1, 1}):
            raise ValueError(f"y_true takes values in {sorted(present)}, and pos_label is not specified: either make "
                             "y_true take value in {0, 1} or {-1, 1} or pass pos_label explicitly.")
        pos_label = 1
    return t == pos_label


def roc_curve(y_true, y_score, pos_label=None, drop_intermediate: bool = True) -> tuple[Tensor, Tensor, Tensor]:
    """(fpr, tpr, thresholds) for a binary problem, as scikit-learn: one point per distinct score,
    from the highest threshold down; `thresholds[0]` is inf (nothing predicted positive) so the
    curve starts at (0, 0). Predicting "positive" means score >= threshold. With
    `drop_intermediate`, points on a straight segment between their neighbours are left out.
    When y_true has no negatives (or no positives) that rate is nan, as scikit-learn."""
    positive, score = _binary_targets(y_true, pos_label), _array(y_score, "y_score").astype(np.float64)
    if positive.ndim != 1 or score.ndim != 1:
        raise ValueError(f"roc_curve expects 1-D y_true and y_score, got shapes {positive.shape} and {score.shape}")
    _check_lengths(positive, score)
    order = np.argsort(score, kind="mergesort")[::-1]
    score, positive = score[order], positive[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]  # the last sample of each distinct score
    tps = np.cumsum(positive)[last_of_each].astype(np.float64)
    fps = 1 + last_of_each - tps
    thresholds = score[last_of_each]
    if drop_intermediate and len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps, thresholds = np.r_[0.0, fps], np.r_[0.0, tps], np.r_[np.inf, thresholds]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return from_numpy(fpr), from_numpy(tpr), from_numpy(thresholds)


def auc(x, y) -> float:
    """The area under the curve through the points (x, y), by the trapezoidal rule; x must be
    monotonic (increasing or decreasing)."""
    x, y = _array(x, "x").astype(np.float64), _array(y, "y").astype(np.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"auc expects x and y as 1-D arrays of the same length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"At least 2 points are needed to compute area under curve, but x.shape = {len(x)}")
    dx = np.diff(x)
    direction = 1.0
    if (dx < 0).any():
        if not (dx <= 0).all():
            raise ValueError(f"x is neither increasing nor decreasing : {x}.")
        direction = -1.0
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2))


def roc_auc_score(y_true, y_score, average: str = "macro", multi_class: str = "raise") -> float:
    """The area under the ROC curve: the probability that a random positive sample scores higher
    than a random negative one (ties count 1/2). Binary: y_score is the positive class's score [N].
    Multiclass: y_score is [N, C] and multi_class="ovr" averages the one-vs-rest AUCs ("macro" or
    "weighted" by support); scikit-learn's "ovo" is not implemented."""
    score = _array(y_score, "y_score")
    if score.ndim == 1:
        if len(np.unique(_array(y_true, "y_true"))) != 2:
            raise ValueError("Only one class present in y_true. ROC AUC score is not defined in that case.")
        fpr, tpr, _ = roc_curve(y_true, score)
        return auc(fpr, tpr)
    if multi_class != "ovr":
        raise ValueError(f"multi_class must be 'ovr' for scores of shape {score.shape} (got {multi_class!r}; "
                         "'ovo' is not implemented)")
    if average not in ("macro", "weighted"):
        raise ValueError(f"average must be 'macro' or 'weighted' for multiclass scores, got {average!r}")
    t = _array(y_true, "y_true")
    _check_lengths(t, score)
    aucs = np.array([roc_auc_score(t == c, score[:, c]) for c in range(score.shape[1])])
    weights = np.array([np.sum(t == c) for c in range(score.shape[1])], np.float64)
    return float(aucs.mean() if average == "macro" else (aucs * weights).sum() / weights.sum())
