"""metrics on hand-computed examples (the course notes' definitions, scikit-learn's documented
examples) and against brute-force definitions."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import metrics
from tinygrad_edu.metrics import (accuracy, auc, confusion_matrix, f1_score, precision, precision_recall_f1, recall,
                                  roc_auc_score, roc_curve)

# A binary example worked by hand: TP = 3, FN = 1, FP = 2, TN = 4.
BIN_TRUE = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
BIN_PRED = [1, 1, 1, 0, 1, 1, 0, 0, 0, 0]
# scikit-learn's documented multiclass example.
MC_TRUE = [0, 1, 2, 0, 1, 2]
MC_PRED = [0, 2, 1, 0, 0, 1]


@pytest.mark.parametrize("convert", [list, np.array, tg.tensor])
def test_binary_hand_example(convert):
    t, p = convert(BIN_TRUE), convert(BIN_PRED)
    assert accuracy(t, p) == pytest.approx(0.7)
    assert precision(t, p) == pytest.approx(3 / 5)  # TP / (TP + FP)
    assert recall(t, p) == pytest.approx(3 / 4)  # TP / (TP + FN)
    assert f1_score(t, p) == pytest.approx(2 * 0.6 * 0.75 / (0.6 + 0.75))
    assert precision(t, p, pos_label=0) == pytest.approx(4 / 5)  # the negatives' view: TN / (TN + FN)
    assert confusion_matrix(t, p).tolist() == [[4, 2], [1, 3]]  # rows: actual class; columns: predicted


def test_multiclass_documented_example():
    assert confusion_matrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]).tolist() == [[2, 0, 0], [0, 0, 1], [1, 0, 2]]
    assert precision(MC_TRUE, MC_PRED, average="macro") == pytest.approx(0.2222222222)
    assert precision(MC_TRUE, MC_PRED, average="micro") == pytest.approx(1 / 3)
    assert precision(MC_TRUE, MC_PRED, average="weighted") == pytest.approx(0.2222222222)
    assert recall(MC_TRUE, MC_PRED, average="macro") == pytest.approx(1 / 3)
    assert f1_score(MC_TRUE, MC_PRED, average="macro") == pytest.approx(0.2666666667)
    assert f1_score(MC_TRUE, MC_PRED, average="micro") == pytest.approx(1 / 3)
    assert f1_score(MC_TRUE, MC_PRED, average="weighted") == pytest.approx(0.2666666667)
    p, r, f = precision_recall_f1(MC_TRUE, MC_PRED, average=None)
    assert p.dtype == tg.float64
    np.testing.assert_allclose(p.numpy(), [2 / 3, 0, 0])
    np.testing.assert_allclose(r.numpy(), [1, 0, 0])
    np.testing.assert_allclose(f.numpy(), [0.8, 0, 0])


def test_weighted_differs_from_macro():
    t, p = [0, 0, 0, 1], [0, 0, 1, 1]  # class 0: P 1, R 2/3; class 1: P 1/2, R 1
    assert precision(t, p, average="macro") == pytest.approx(0.75)
    assert precision(t, p, average="weighted") == pytest.approx((3 * 1 + 1 * 0.5) / 4)
    assert recall(t, p, average="weighted") == pytest.approx(0.75)  # weighted recall is the accuracy


def test_zero_division_is_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert precision([1, 1, 0], [0, 0, 0]) == 0.0  # nothing predicted positive
        assert recall([0, 0, 0], [1, 0, 0]) == 0.0  # no positives
        assert f1_score([0, 0], [0, 0]) == 0.0  # pos_label never occurs
        p, r, f = precision_recall_f1([0, 1, 2], [0, 0, 0], average=None, num_classes=4)
        np.testing.assert_allclose(p.numpy(), [1 / 3, 0, 0, 0])
        np.testing.assert_allclose(f.numpy(), [0.5, 0, 0, 0])


def test_num_classes_and_label_sets():
    # class 3 never occurs: with num_classes it is still row 3 and counts in macro averages
    assert confusion_matrix([0, 1, 2], [0, 2, 2], num_classes=4).tolist() == [
        [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    assert recall([0, 1, 2], [0, 2, 2], average="macro") == pytest.approx(2 / 3)
    assert recall([0, 1, 2], [0, 2, 2], average="macro", num_classes=4) == pytest.approx(0.5)
    assert confusion_matrix([5, 9], [9, 9]).tolist() == [[0, 1], [0, 1]]  # present labels, as scikit-learn
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_accuracy_from_scores_and_errors():
    logits = tg.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 0.0]])
    assert accuracy(tg.tensor([0, 2, 2]), logits) == pytest.approx(2 / 3)
    assert accuracy([0, 2, 1], logits.requires_grad_()) == 1.0
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[2, 3\]"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="y_pred holds non-integer values"):
        accuracy([0, 1], [0.2, 0.9])  # probabilities are not labels
    assert accuracy([0.0, 1.0], tg.tensor([0.0, 1.0])) == 1.0  # float labels that are whole numbers are fine
    with pytest.raises(ValueError, match="y_true is empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        precision(MC_TRUE, MC_PRED)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        recall([0, 2, 2], [2, 0, 2])
    with pytest.raises(ValueError, match="average has to be one of"):
        f1_score(MC_TRUE, MC_PRED, average="samples")


def brute_force(t, p, c):
    tp = sum(1 for a, b in zip(t, p) if a == c and b == c)
    fp = sum(1 for a, b in zip(t, p) if a != c and b == c)
    fn = sum(1 for a, b in zip(t, p) if a == c and b != c)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30))
def test_per_class_and_averages_match_definitions(pairs):
    t, p = [a for a, _ in pairs], [b for _, b in pairs]
    per_class = [brute_force(t, p, c) for c in range(4)]
    ours = precision_recall_f1(t, p, average=None, num_classes=4)
    for k in range(3):
        np.testing.assert_allclose(ours[k].numpy(), [v[k] for v in per_class], atol=1e-12)
    macro = precision_recall_f1(t, p, average="macro", num_classes=4)
    np.testing.assert_allclose(macro, np.mean(per_class, axis=0), atol=1e-12)
    micro = precision_recall_f1(t, p, average="micro")
    np.testing.assert_allclose(micro, [accuracy(t, p)] * 3, atol=1e-12)  # single-label: micro = accuracy
    cm = confusion_matrix(t, p, num_classes=4).numpy()
    assert cm.sum() == len(t) and np.trace(cm) == sum(a == b for a, b in pairs)


# ------------------------------------------------------------ ROC and AUC

def test_roc_curve_documented_example():
    fpr, tpr, thr = roc_curve([1, 1, 2, 2], [0.1, 0.4, 0.35, 0.8], pos_label=2)
    np.testing.assert_allclose(fpr.numpy(), [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr.numpy(), [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(thr.numpy(), [np.inf, 0.8, 0.4, 0.35, 0.1])
    assert auc(fpr, tpr) == pytest.approx(0.75)
    assert roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_roc_curve_ties_and_drop_intermediate():
    t, s = [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.9, 0.7, 0.1]
    fpr, tpr, thr = roc_curve(t, s, drop_intermediate=False)
    # thresholds inf, .9, .7, .5 (one pos + one neg tied), .2, .1
    np.testing.assert_allclose(thr.numpy(), [np.inf, 0.9, 0.7, 0.5, 0.2, 0.1])
    np.testing.assert_allclose(tpr.numpy(), [0, 1 / 3, 2 / 3, 1, 1, 1])
    np.testing.assert_allclose(fpr.numpy(), [0, 0, 0, 1 / 3, 2 / 3, 1])
    # scikit-learn's rule drops a point that is on the line between its neighbours, the neighbours
    # taken before (0, 0) is prepended: here only (2/3, 1) at threshold 0.2
    fpr2, tpr2, thr2 = roc_curve(t, s)
    np.testing.assert_allclose(thr2.numpy(), [np.inf, 0.9, 0.7, 0.5, 0.1])
    assert auc(fpr2, tpr2) == pytest.approx(auc(fpr, tpr)) == pytest.approx(1 - 0.5 / 9)


def mann_whitney_auc(t, s):
    pos = [b for a, b in zip(t, s) if a == 1]
    neg = [b for a, b in zip(t, s) if a == 0]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=2, max_size=25))
def test_roc_auc_is_the_rank_probability(pairs):
    t, s = [a for a, _ in pairs], [b / 5 for _, b in pairs]
    if len(set(t)) < 2:
        with pytest.raises(ValueError, match="Only one class present in y_true"):
            roc_auc_score(t, s)
        return
    assert roc_auc_score(tg.tensor(t), tg.tensor(s)) == pytest.approx(mann_whitney_auc(t, s), abs=1e-12)
    fpr, tpr, thr = roc_curve(t, s)
    assert fpr[0].item() == tpr[0].item() == 0 and fpr[-1].item() == tpr[-1].item() == 1
    assert np.all(np.diff(fpr.numpy()) >= 0) and np.all(np.diff(tpr.numpy()) >= 0)


def test_roc_one_class_gives_nan_rates():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fpr, tpr, _ = roc_curve([1, 1, 1], [0.2, 0.5, 0.9])
    assert np.isnan(fpr.numpy()).all() and not np.isnan(tpr.numpy()).any()


def test_auc_direction_and_errors():
    assert auc([0, 0.5, 1], [0, 1, 1]) == pytest.approx(0.75)
    assert auc([1, 0.5, 0], [1, 1, 0]) == pytest.approx(0.75)  # decreasing x: same area
    with pytest.raises(ValueError, match="x is neither increasing nor decreasing"):
        auc([0, 1, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="At least 2 points are needed"):
        auc([0.0], [1.0])
    with pytest.raises(ValueError, match="pass pos_label explicitly"):
        roc_curve([1, 2, 3], [0.1, 0.2, 0.3])


def test_roc_auc_multiclass_ovr():
    t = [0, 1, 2, 2, 1, 0]
    scores = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1],
                       [0.4, 0.4, 0.2]])
    each = [mann_whitney_auc([int(v == c) for v in t], scores[:, c]) for c in range(3)]
    assert roc_auc_score(t, scores, multi_class="ovr") == pytest.approx(np.mean(each))
    with pytest.raises(ValueError, match="multi_class must be 'ovr'"):
        roc_auc_score(t, scores)
    assert set(metrics.__all__) >= {"accuracy", "roc_auc_score", "confusion_matrix"} and tg.metrics is metrics
    assert metrics.precision_score(BIN_TRUE, BIN_PRED) == precision(BIN_TRUE, BIN_PRED)
    assert all(hasattr(metrics, name) for name in metrics.__all__)
