"""With default settings the enhanced function returns and raises exactly what the original does."""

import asyncio
import inspect
import math

import pytest
from hypothesis import given, settings, strategies as st

import poet_runtime
from poet_runtime import PoetEnforcementError, PoetInputError, PoetRuleError, PoetTypeError, poet

DEFAULT = {}
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20), st.binary(max_size=10),
    st.lists(st.integers(), max_size=5), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def outcome(fn, *args, **kwargs):
    try:
        return ("ok", fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return ("raised", exc)


def same(a, b):
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return type(a[1]) is type(b[1]) and a[1].args == b[1].args
    if isinstance(a[1], float) and math.isnan(a[1]):
        return isinstance(b[1], float) and math.isnan(b[1])
    return type(a[1]) is type(b[1]) and a[1] == b[1]


def checks_own_argument(number: float) -> int:
    """Checks its argument itself, and answers a float despite the annotation."""
    if not isinstance(number, int):
        raise TypeError(f"Input value of [number={number}] must be an integer")
    if number < 0:
        raise ValueError("Input value must be a positive integer")
    return number / 2


def loose_float(value: float, scale: float = 1.0) -> float:
    return float(value) * scale


def wrong_return(items: list) -> int:
    return ",".join(map(str, items))


@pytest.mark.parametrize("original", [checks_own_argument, loose_float, wrong_return])
@settings(max_examples=150, deadline=None)
@given(value=ANY_VALUE)
def test_default_settings_never_change_an_outcome(original, value):
    enhanced = poet(DEFAULT)(original)
    assert same(outcome(original, value), outcome(enhanced, value))


def test_the_functions_own_exception_is_the_same_object():
    raised = ValueError("mine", 42)

    def fails(x: int) -> int:
        raise raised

    with pytest.raises(ValueError) as caught:
        poet({"timeout": 0.5})(fails)(1)
    assert caught.value is raised
    with pytest.raises(ValueError) as caught:
        poet({"timeout": 0})(fails)(1)
    assert caught.value is raised


def test_annotation_mismatches_are_counted_not_raised():
    enhanced = poet(DEFAULT)(loose_float)
    assert enhanced("100", 2) == 200.0
    assert enhanced.poet_stats["type_mismatches"] == 1
    assert enhanced.poet_stats["rule_refusals"] == 0
    enhanced_return = poet(DEFAULT)(wrong_return)
    assert enhanced_return([1, 2]) == "1,2"
    assert enhanced_return.poet_stats["return_mismatches"] == 1


def test_strict_raises_on_annotation_mismatches():
    enhanced = poet({"strict": True})(loose_float)
    with pytest.raises(PoetTypeError, match="argument 'value' must be float, got str"):
        enhanced("100")
    with pytest.raises(PoetEnforcementError, match=r"wrong_return\(\) returned str, expected int"):
        poet({"strict": True})(wrong_return)([1])
    assert enhanced.poet_stats["rule_refusals"] == 1


@pytest.mark.parametrize(
    "params,args,error",
    [
        ({"ranges": [{"param": "value", "min": 0, "max": 10}]}, (11.0,), PoetInputError),
        ({"reject_non_finite_args": True}, (float("nan"),), PoetInputError),
        ({"reject_none": True}, (None,), PoetTypeError),
        ({"max_abs_result": 5}, (6.0,), PoetEnforcementError),
        ({"max_input_tokens": 1}, ("x" * 10,), PoetInputError),
    ],
)
def test_declared_rules_refuse_with_a_poet_rule_error(params, args, error):
    with pytest.raises(error) as caught:
        poet(params)(loose_float)(*args)
    assert isinstance(caught.value, PoetRuleError)


def test_hooks_observe_and_never_decide():
    seen = []

    def perceive(args, kwargs):
        seen.append(args)
        raise RuntimeError("hook bug")

    def enforce(result):
        seen.append(result)
        return "ignored"

    enhanced = poet(DEFAULT, perceive=perceive, enforce=enforce)(loose_float)
    assert enhanced(2.0) == 2.0
    assert seen == [(2.0,), 2.0]
    assert enhanced.poet_stats["hook_errors"] == 1


def test_keeps_name_signature_docstring_and_recursion():
    def fact(n: int) -> int:
        """Factorial."""
        return 1 if n <= 1 else n * enhanced(n - 1)

    enhanced = poet(DEFAULT)(fact)
    assert (enhanced.__name__, enhanced.__doc__, str(inspect.signature(enhanced))) == ("fact", "Factorial.", "(n: int) -> int")
    assert enhanced(20) == math.factorial(20)
    assert enhanced.poet_stats["calls"] == 1


def test_generators_and_coroutines_answer_as_the_original():
    def count(n: int):
        yield from range(n)

    async def double(n: int) -> int:
        return n * 2

    assert list(poet(DEFAULT)(count)(3)) == [0, 1, 2]
    assert asyncio.run(poet(DEFAULT)(double)("ab")) == "abab"


def test_unknown_settings_are_refused_at_decoration():
    with pytest.raises(ValueError, match="unknown POET setting"):
        poet({"retrys": 3})


def test_settings_file_overrides_known_keys(tmp_path, monkeypatch):
    learned = tmp_path / "params.json"
    learned.write_text('{"retries": 5, "unknown": 1}')
    monkeypatch.setenv("POET_PARAMS_FILE", str(learned))
    enhanced = poet({"retries": 2})(loose_float)
    assert enhanced.poet_params["retries"] == 5
    assert "unknown" not in enhanced.poet_params
    assert enhanced.poet_runtime_version == poet_runtime.__version__


def test_the_cache_tells_equal_values_of_other_types_apart():
    # 5 == 5.0 == True with one hash: a type-blind cache answered catalan(5.0) with catalan(5) instead of its TypeError.
    enhanced = poet({"cache_size": 8})(checks_own_argument)
    assert enhanced(4) == 2.0
    for other in (4.0, True, -0.0):
        assert same(outcome(checks_own_argument, other), outcome(enhanced, other))
    assert enhanced.poet_stats["cache_hits"] == 0


def test_a_cached_result_is_a_fresh_copy_for_every_caller():
    def listed(n: int) -> list:
        return list(range(n))

    enhanced = poet({"cache_size": 8})(listed)
    enhanced(3).append("changed by the first caller")
    assert enhanced(3) == [0, 1, 2]
    assert enhanced.poet_stats["cache_hits"] == 1


def test_drift_observes_ints_beyond_any_float_without_raising():
    # float(2 ** 1024) overflows: drift tracking raised OverflowError from a call the original answers.
    def is_power_of_two(number: int) -> bool:
        return number & (number - 1) == 0

    enhanced = poet({"drift_z": 4, "drift_min_samples": 2})(is_power_of_two)
    assert [enhanced(2**i) for i in (1, 2, 1024, 3000)] == [True] * 4
    assert enhanced.poet_stats["failures"] == 0
