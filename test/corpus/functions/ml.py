"""ML-style feature and metric helpers."""
import math


def normalize(values: list) -> list:
    lo, hi = min(values, default=0), max(values, default=0)
    if hi == lo:
        return [0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def softmax(logits: list) -> list:
    if not logits:
        return []
    top = max(logits)
    exps = [math.exp(v - top) for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def accuracy(y_true: list, y_pred: list) -> float:
    if len(y_true) != len(y_pred):
        raise ValueError("length mismatch")
    if not y_true:
        raise ValueError("no labels")
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def f1_score(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def psi(expected: list, actual: list) -> float:
    """Population stability index of two binned distributions."""
    total = 0.0
    for e, a in zip(expected, actual):
        e, a = max(e, 1e-6), max(a, 1e-6)
        total += (a - e) * math.log(a / e)
    return total


def moving_average(values: list, window: int = 3) -> list:
    if window <= 0:
        raise ValueError("window must be positive")
    return [sum(values[i - window + 1 : i + 1]) / window for i in range(window - 1, len(values))]


def zscore(x: float, mean: float, std: float) -> float:
    if std <= 0:
        raise ValueError("std must be positive")
    return (x - mean) / std


def cosine_similarity(a: list, b: list) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
