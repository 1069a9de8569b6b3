"""Shapes of functions the enhancer must keep intact."""
import asyncio
import functools
from typing import Optional


def with_defaults(a: int, b: int = 2, *, scale: int = 1) -> int:
    return (a + b) * scale


def variadic(*args, **kwargs) -> int:
    return len(args) + len(kwargs)


async def fetch_double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def countdown(n: int):
    while n > 0:
        yield n
        n -= 1


async def async_range(n: int):
    for i in range(n):
        yield i


def _logged(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args, **kwargs)
    return inner


@_logged
def decorated_square(x: int) -> int:
    return x * x


def make_counter(start: int = 0) -> int:
    """Uses a nested closure and returns its final count."""
    count = start

    def bump():
        nonlocal count
        count += 1

    for _ in range(3):
        bump()
    return count


class Geometry:
    @staticmethod
    def area(width: float, height: float) -> float:
        return width * height


def rectangle_area(width: float, height: float) -> float:
    return Geometry.area(width, height)


def optional_greeting(name: Optional[str] = None) -> str:
    return f"hello {name}" if name else "hello"


def positional_only(a: int, b: int, /) -> int:
    return a - b


def raises_key_error(key: str) -> int:
    return {"a": 1}[key]


def returns_none(x: int) -> None:
    return None


def recursive_sum(items: list) -> int:
    return sum(recursive_sum(i) if isinstance(i, list) else i for i in items)
