"""Handlers: payload validation from the signature, option clashes, async detection."""

from __future__ import annotations

from datetime import UTC
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conveyor.errors import InvalidTask, UnknownTaskType
from conveyor.registry import Registry, TaskContext


def area(ctx: TaskContext, width: int, height: int = 1) -> int:
    return width * height


async def fetch(ctx: TaskContext, url: str) -> str:
    return url


def anything(ctx: TaskContext, **fields: Any) -> dict[str, Any]:
    return fields


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    for func in (area, fetch, anything):
        registry.register(func)
    return registry


def test_valid_payload_is_coerced_to_annotations(registry: Registry) -> None:
    assert registry.get("area").validate_payload({"width": "3"}) == {"width": 3}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "payload.width"),
        ({"width": "wide"}, "payload.width"),
        ({"width": 1, "depth": 2}, "payload.depth"),
    ],
)
def test_bad_payload_names_the_field(
    registry: Registry, payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidTask) as caught:
        registry.get("area").validate_payload(payload)
    assert caught.value.field == field


def test_var_keyword_handlers_take_any_fields(registry: Registry) -> None:
    assert registry.get("anything").validate_payload({"x": [1, {"y": None}]}) == {
        "x": [1, {"y": None}]
    }


def nothing(ctx: TaskContext) -> None:
    return None


class Level(IntEnum):
    HIGH = 2


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats())
_payload_values = st.one_of(
    _json_scalars,
    st.lists(_json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), _json_scalars, max_size=3),
    st.datetimes(timezones=st.just(UTC)),
    st.just(Level.HIGH),
    st.tuples(st.integers()),
)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=8), _payload_values, max_size=5))
def test_handlers_without_named_parameters_give_what_their_model_gives(
    payload: dict[str, Any],
) -> None:
    """Handlers taking only **kwargs, or no payload, skip the model for payloads it
    would give back unchanged: the answer (or the error) is the model's either way."""
    registry = Registry()
    for func in (anything, nothing):
        handler = registry.register(func)
        try:
            model = handler.payload_model.model_validate(payload)
            expected = ("valid", model.model_dump(mode="json", exclude_unset=True))
        except ValidationError as exc:
            expected = ("invalid", f"payload.{exc.errors()[0]['loc'][0]}")
        try:
            got = ("valid", handler.validate_payload(payload))
        except InvalidTask as exc:
            got = ("invalid", exc.field)
        assert got == expected


def test_async_handlers_are_recognised(registry: Registry) -> None:
    assert registry.get("fetch").is_async
    assert not registry.get("area").is_async


def test_unknown_type_lists_known_ones(registry: Registry) -> None:
    with pytest.raises(UnknownTaskType) as caught:
        registry.get("nope")
    assert caught.value.known == ["anything", "area", "fetch"]
    assert "area" in caught.value.message


def test_a_parameter_named_like_an_option_is_refused() -> None:
    def bad(ctx: TaskContext, priority: int) -> None: ...

    with pytest.raises(TypeError, match="priority"):
        Registry().register(bad)


def test_a_handler_needs_the_context_argument() -> None:
    def bare() -> None: ...

    with pytest.raises(TypeError, match="context"):
        Registry().register(bare)
