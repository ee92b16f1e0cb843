"""Parliament's accepted findings (tests/parliament_known.py) each name the reason they are harmless; the IAM
tables must hold rows that show that reason as AWS evaluates it (the rows themselves pass or fail in
test_iam_allowed.py and test_iam_denied.py)."""

from __future__ import annotations

from tests.iam.allowed_requests import allowed_rows
from tests.iam.denied_requests import denied_rows
from tests.parliament_known import KNOWN_FINDINGS


def test_every_accepted_parliament_finding_is_confirmed_by_rows_of_the_iam_tables(stack):
    shown = {row.confirms for row in allowed_rows(stack)} | {row.confirms for row, _ in denied_rows(stack)}
    unconfirmed = sorted({known.confirmed_by for known in KNOWN_FINDINGS} - shown)
    assert unconfirmed == []
