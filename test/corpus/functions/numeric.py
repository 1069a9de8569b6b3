"""Numeric helpers of the kind found in utility modules."""
import math
from functools import reduce


def clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    """Limit value to [low, high]."""
    if low > high:
        raise ValueError("low must not exceed high")
    return max(low, min(value, high))


def safe_divide(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


def gcd_many(*numbers: int) -> int:
    """Greatest common divisor of any count of integers."""
    return reduce(math.gcd, numbers, 0)


def fibonacci(n: int) -> int:
    if n < 0:
        raise ValueError("n must be non-negative")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def factorial(n: int) -> int:
    return 1 if n <= 1 else n * factorial(n - 1)


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, int(math.isqrt(n)) + 1))


def mean(values: list) -> float:
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)


def round_half_even(x: float, digits: int = 2) -> float:
    return round(x, digits)


def hypotenuse(a: float, b: float) -> float:
    return math.hypot(a, b)


def collatz_steps(n: int) -> int:
    if n < 1:
        raise ValueError("n must be positive")
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps
