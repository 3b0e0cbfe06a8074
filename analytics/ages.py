"""Age from a date of birth, and the age bands every channel uses."""

from __future__ import annotations

import datetime as dt

AGE_BANDS = ((18, 25, "18-25"), (26, 35, "26-35"), (36, 50, "36-50"), (51, 65, "51-65"))


def age_on(dob: dt.date, day: dt.date) -> int:
    """Whole years completed on `day`."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def age_band_for(age: int | float | None) -> str:
    """"18-25", "26-35", "36-50", "51-65", "65+", "under 18" or "unknown"."""
    if age is None or age != age:  # None or NaN
        return "unknown"
    if age < 18:
        return "under 18"
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return "65+"
