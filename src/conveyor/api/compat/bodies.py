"""What the compat routes share about a source system's request body."""

from __future__ import annotations

from collections.abc import Collection

from conveyor.errors import InvalidTask
from conveyor.task import JSONObject


def refuse_unknown_keys(body: JSONObject, accepted: Collection[str], shape: str) -> None:
    """InvalidTask naming the first key (in sorted order, so the answer is stable) that
    `body` holds beyond `accepted`; `shape` tells the client what the body should be."""
    unknown = sorted(set(body).difference(accepted))
    if unknown:
        raise InvalidTask(f"{unknown[0]}: not accepted; {shape}", field=unknown[0])
