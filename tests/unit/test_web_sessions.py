"""The unique visitor estimate: exact while small, close and bounded when large."""

from __future__ import annotations

import uuid

from conveyor.web.sessions import VisitorEstimate


def test_exact_while_small_and_repeats_do_not_count() -> None:
    visitors = VisitorEstimate()
    assert visitors.estimate() == 0
    ids = [uuid.uuid4().hex for _ in range(VisitorEstimate.EXACT_UP_TO)]
    for _ in range(3):
        for session in ids:
            visitors.add(session)
    assert visitors.estimate() == VisitorEstimate.EXACT_UP_TO


def test_close_when_large_in_bounded_memory() -> None:
    visitors = VisitorEstimate()
    for _ in range(50_000):
        visitors.add(uuid.uuid4().hex)
    assert visitors._exact is None  # the exact set is given up past its bound
    assert abs(visitors.estimate() - 50_000) < 50_000 * 0.05
