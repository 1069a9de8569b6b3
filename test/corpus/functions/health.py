"""Health and clinical helpers."""


def bmi(weight_kg: float, height_cm: float) -> float:
    if height_cm <= 0:
        raise ValueError("height must be positive")
    return round(weight_kg / (height_cm / 100) ** 2, 1)


def bmi_category(bmi_value: float) -> str:
    if bmi_value < 18.5:
        return "underweight"
    if bmi_value < 25:
        return "normal"
    if bmi_value < 30:
        return "overweight"
    return "obese"


def max_heart_rate(age: int) -> int:
    return 220 - age


def celsius_to_fahrenheit(temperature_c: float) -> float:
    return temperature_c * 9 / 5 + 32


def is_fever(temperature: float) -> bool:
    return temperature >= 38.0


def mean_arterial_pressure(systolic: float, diastolic: float) -> float:
    return round((systolic + 2 * diastolic) / 3, 1)


def dose_mg(weight_kg: float, mg_per_kg: float = 10.0, max_mg: float = 1000.0) -> float:
    return min(weight_kg * mg_per_kg, max_mg)


def egfr_stage(egfr: float) -> int:
    for stage, floor in enumerate((90, 60, 30, 15), start=1):
        if egfr >= floor:
            return stage
    return 5


def mask_patient_id(patient_id: str) -> str:
    return "*" * max(len(patient_id) - 4, 0) + patient_id[-4:]
