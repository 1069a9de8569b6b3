"""Shapes of functions the enhancer must keep intact."""
import asyncio
import functools
from typing import Optional


def with_defaults(a: int, b: int = 2, *, scale: int = 1) -> int:
    return (a + b) * scale


def variadic(*args, **kwargs) -> int:
    """How many arguments came, positional and named.

    >>> variadic(1, 2, a=3)
    3
    >>> variadic()
    0
    """
    return len(args) + len(kwargs)


def build_query(base: str, **params) -> str:
    """A URL query from keyword arguments, sorted by name; a parameter without a value is a caller's mistake.

    >>> build_query("/search", q="poet", page=2)
    '/search?page=2&q=poet'
    >>> build_query("/search")
    '/search'
    >>> build_query("/search", q=None)
    Traceback (most recent call last):
    ...
    ValueError: parameter 'q' has no value
    """
    for key, value in params.items():
        if value is None:
            raise ValueError(f"parameter {key!r} has no value")
    query = "&".join(f"{key}={params[key]}" for key in sorted(params))
    return f"{base}?{query}" if query else base


def remember(item: str, seen: list = []) -> list:
    """Appends to the shared default list: the classic mutable default, kept on purpose.

    >>> remember("a")
    ['a']
    >>> remember("b")
    ['a', 'b']
    >>> remember("c", [])
    ['c']
    """
    seen.append(item)
    return seen


def percent_of(value: float, total: float = 100) -> int:
    """value as a percentage of total. Annotated float and int, yet it takes the strings a CSV reader hands over
    and returns a float.

    >>> percent_of("50", 200)
    25.0
    >>> percent_of(1, 3)
    33.333333333333336
    >>> percent_of(1, 0)
    Traceback (most recent call last):
    ...
    ValueError: total must not be zero
    """
    if float(total) == 0:
        raise ValueError("total must not be zero")
    return float(value) * 100 / float(total)


async def fetch_double(x: int) -> int:
    """
    >>> asyncio.run(fetch_double(21))
    42
    """
    await asyncio.sleep(0)
    return x * 2


async def gather_scaled(values: list, factor: float = 2) -> list:
    """Scales every value in its own task, checking the factor first.

    >>> asyncio.run(gather_scaled([1, 2, 3]))
    [2, 4, 6]
    >>> asyncio.run(gather_scaled([1], factor="x"))
    Traceback (most recent call last):
    ...
    TypeError: factor must be a number, not str
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise TypeError(f"factor must be a number, not {type(factor).__name__}")

    async def scale(value):
        await asyncio.sleep(0)
        return value * factor

    return list(await asyncio.gather(*(scale(v) for v in values)))


def countdown(n: int):
    """
    >>> list(countdown(3))
    [3, 2, 1]
    """
    while n > 0:
        yield n
        n -= 1


async def async_range(n: int):
    """
    >>> async def collect():
    ...     return [i async for i in async_range(3)]
    >>> asyncio.run(collect())
    [0, 1, 2]
    """
    for i in range(n):
        yield i


def _logged(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(*args, **kwargs)
    return inner


@_logged
def decorated_square(x: int) -> int:
    """
    >>> decorated_square(7)
    49
    """
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
    """
    >>> rectangle_area(3, 4.5)
    13.5
    """
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
    """
    >>> recursive_sum([1, [2, [3]], 4])
    10
    """
    return sum(recursive_sum(i) if isinstance(i, list) else i for i in items)
