"""Validators for patient identifiers and settings."""

import re
import zoneinfo

from django.core.exceptions import ValidationError

_NHS_NUMBER = re.compile(r"^\d{10}$")


def normalise_nhs_number(value: str) -> str:
    """NHS numbers are often written 3-3-4 with spaces or dashes; store the 10 digits."""
    return re.sub(r"[\s-]", "", str(value or ""))


def nhs_number_is_valid(value: str) -> bool:
    """Modulus 11: weights 10..2 over the first nine digits; check digit 11 - (sum % 11),
    11 becomes 0, and 10 means the number is invalid (NHS Data Dictionary)."""
    digits = normalise_nhs_number(value)
    if not _NHS_NUMBER.match(digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def validate_nhs_number(value: str) -> None:
    digits = normalise_nhs_number(value)
    if not _NHS_NUMBER.match(digits):
        raise ValidationError("An NHS number has exactly 10 digits.", code="nhs_number_format")
    if not nhs_number_is_valid(digits):
        raise ValidationError(
            "This is not a valid NHS number (the check digit does not match).",
            code="nhs_number_check_digit",
        )


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValidationError(
            f'"{value}" is not a known time zone; use an IANA name such as Europe/London.',
            code="timezone",
        ) from exc
