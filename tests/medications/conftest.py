from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from medications import services
from medications.models import Drug


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def prescribe(
    patient,
    code: str = "sorafenib",
    *,
    times=("08:00", "20:00"),
    dose: str | None = "400",
    start: date | None = None,
    now: datetime,
    **kwargs,
):
    return services.prescription_create(
        patient=patient,
        drug=Drug.objects.get(code=code),
        dose_mg=Decimal(dose) if dose is not None else None,
        times=list(times),
        start_date=start or now.date(),
        now=now,
        **kwargs,
    )


@pytest.fixture
def drugs(db):
    return {drug.code: drug for drug in Drug.objects.all()}
