"""Finance calculations."""
from decimal import ROUND_HALF_UP, Decimal


def monthly_payment(principal: float, annual_rate: float, months: int) -> float:
    """Annuity payment of a loan."""
    if months <= 0:
        raise ValueError("months must be positive")
    r = annual_rate / 12
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def compound_interest(principal: float, rate: float, years: int, periods: int = 12) -> float:
    return principal * (1 + rate / periods) ** (periods * years)


def round_cents(amount: float) -> str:
    return str(Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def debt_to_income_ratio(monthly_debt: float, monthly_income: float) -> float:
    if monthly_income <= 0:
        raise ValueError("income must be positive")
    return monthly_debt / monthly_income


def credit_band(credit_score: int) -> str:
    if credit_score >= 740:
        return "excellent"
    if credit_score >= 670:
        return "good"
    if credit_score >= 580:
        return "fair"
    return "poor"


def net_present_value(rate: float, cash_flows: list) -> float:
    return sum(cf / (1 + rate) ** t for t, cf in enumerate(cash_flows))


def apply_discount(price: float, percent: float = 10.0) -> float:
    if not 0 <= percent <= 100:
        raise ValueError("percent out of range")
    return round(price * (1 - percent / 100), 2)


def split_bill(total_amount: float, people: int, tip_rate: float = 0.15) -> float:
    if people < 1:
        raise ValueError("at least one person pays")
    return round(total_amount * (1 + tip_rate) / people, 2)


def break_even_units(fixed_cost: float, unit_price: float, unit_cost: float) -> int:
    margin = unit_price - unit_cost
    if margin <= 0:
        raise ValueError("price must exceed unit cost")
    return int(-(-fixed_cost // margin))
