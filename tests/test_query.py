"""The question's arguments: aware datetimes only, and no data collected after ``at``.

Asked of the site policy (``tests/_site.py``); a mistake in the question raises
(``NaiveDatetimeError``, ``QueryError``, ``TypeError``) rather than deciding.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from tests._rules import T0, US
from tests._site import POLICY, decide

from lawful import (
    NaiveDatetimeError,
    QueryError,
    Subject,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["at", "collected_at"])
def test_naive_datetimes_are_rejected(where: str) -> None:
    """A naive ``at`` or ``collected_at`` raises NaiveDatetimeError naming the argument."""
    naive = datetime(2025, 3, 1, 9)
    query: dict[str, object] = {"collected_at": naive} if where == "collected_at" else {}
    at = naive if where == "at" else T0
    with pytest.raises(NaiveDatetimeError, match=f"^{where}: naive datetime; attach a time zone"):
        decide([], "fraud", at, **query)
    with pytest.raises(ValueError, match="attach a time zone"):
        POLICY.may_process(Subject("s"), "nope", naive)


def test_collected_after_at_is_a_query_error() -> None:
    """Data cannot be processed before it was collected."""
    with pytest.raises(QueryError, match="collected_at"):
        decide([], "fraud", T0, collected_at=T0 + US)


def test_a_date_is_not_an_instant() -> None:
    """``at`` must be a datetime; a date is refused with a TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"^at: expected a datetime, got date"):
        decide([], "fraud", date(2025, 1, 1))  # type: ignore[arg-type]
