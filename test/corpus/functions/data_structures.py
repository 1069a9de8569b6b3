"""Collections and data-structure helpers."""
from collections import Counter, deque


def flatten(items: list) -> list:
    out = []
    for item in items:
        if isinstance(item, list):
            out.extend(flatten(item))
        else:
            out.append(item)
    return out


def chunk(items: list, size: int = 2) -> list:
    if size <= 0:
        raise ValueError("size must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)]


def dedupe_keep_order(items: list) -> list:
    seen = set()
    return [x for x in items if not (x in seen or seen.add(x))]


def merge_dicts(*dicts, **overrides) -> dict:
    merged = {}
    for d in dicts:
        merged.update(d)
    merged.update(overrides)
    return merged


def invert(mapping: dict) -> dict:
    return {value: key for key, value in mapping.items()}


def most_common(items: list, n: int = 1) -> list:
    return [value for value, _ in Counter(items).most_common(n)]


def rotate(items: list, k: int = 1) -> list:
    d = deque(items)
    d.rotate(k)
    return list(d)


def get_path(data: dict, path: str, default=None):
    """Look up 'a.b.c' in nested dicts."""
    current = data
    for key in path.split("."):
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return current


def group_by_length(words: list) -> dict:
    groups = {}
    for word in words:
        groups.setdefault(len(word), []).append(word)
    return groups


def binary_search(items: list, target: int) -> int:
    lo, hi = 0, len(items) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if items[mid] == target:
            return mid
        if items[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
