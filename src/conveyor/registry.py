"""Task handlers: registration, payload validation from signatures, the handler context."""

from __future__ import annotations

import functools
import inspect
import logging
import math
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from conveyor.errors import InvalidTask, UnknownTaskType
from conveyor.task import JSONObject

HandlerFunc = Callable[..., Any]

RESERVED_OPTION_NAMES = frozenset(
    {"priority", "queue", "delay", "run_at", "max_attempts", "timeout", "idempotency_key"}
)


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """Defaults a handler gives its tasks; a submit may override each."""

    queue: str | None = None
    priority: int | None = None
    max_attempts: int | None = None
    timeout_s: float | None = None
    backoff_s: float | None = None
    """Base of the exponential retry delay for this type (default 1 s, capped at 300 s)."""


class CancelSignal(Protocol):
    """Tells a running handler whether a cancel was requested."""

    def is_set(self) -> bool: ...


class TaskContext:
    """What a running handler gets as its first argument."""

    def __init__(
        self,
        task_id: str,
        task_type: str,
        attempt: int,
        max_attempts: int,
        report_progress: Callable[[float, str | None], None],
        cancel_event: CancelSignal,
    ) -> None:
        self.task_id = task_id
        self.type = task_type
        self.attempt = attempt
        self.max_attempts = max_attempts
        self._report_progress = report_progress
        self._cancel_event = cancel_event

    @functools.cached_property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger naming the task type and id (made on first use: most handlers never
        log, and making one costs a lock and a lookup)."""
        return logging.LoggerAdapter(
            logging.getLogger(f"conveyor.task.{self.type}"), {"task_id": self.task_id}
        )

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Record how far the task is (0.0 to 1.0); stored with the next lease renewal."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"progress must be between 0 and 1, not {fraction}")
        self._report_progress(fraction, message)

    @property
    def cancelled(self) -> bool:
        """True once a cancel was requested: a sync handler should stop soon."""
        return self._cancel_event.is_set()


@dataclass(frozen=True, slots=True)
class Handler:
    name: str
    func: HandlerFunc
    is_async: bool
    options: TaskOptions
    payload_model: type[BaseModel] = field(repr=False)
    no_named_parameters: bool = field(init=False, repr=False)
    """The model has no fields: an empty payload is all it accepts, unless `kwargs_only`."""
    kwargs_only: bool = field(init=False, repr=False)
    """No named parameters, only **kwargs: the model accepts any keys."""

    def __post_init__(self) -> None:
        unnamed = not self.payload_model.model_fields
        object.__setattr__(self, "no_named_parameters", unnamed)
        object.__setattr__(
            self, "kwargs_only", unnamed and self.payload_model.model_config.get("extra") == "allow"
        )

    def validate_payload(self, payload: JSONObject) -> JSONObject:
        """The payload checked against the handler's signature, with values coerced
        to the annotated types; InvalidTask names the first bad field."""
        if (self.no_named_parameters and not payload) or (self.kwargs_only and _flat_json(payload)):
            # What the model gives back, without it (1.6 us a task, most of a batch
            # submit's validation): a handler taking no payload gets {}, and one taking
            # only **kwargs keeps strings, finite numbers, booleans and None as they are.
            return dict(payload)
        try:
            model = self.payload_model.model_validate(payload)
        except ValidationError as exc:
            error = exc.errors()[0]
            # The first part names the handler's parameter; the rest may be union member
            # tags ("int", "float") rather than a path, so it stays in the message only.
            where = f"payload.{error['loc'][0]}" if error["loc"] else "payload"
            raise InvalidTask(f"{where}: {error['msg']}", field=where) from None
        return model.model_dump(mode="json", exclude_unset=True)


_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _flat_json(payload: JSONObject) -> bool:
    """Whether every key is a str and every value a JSON scalar (floats finite), which a
    model's JSON-mode dump leaves as they are; exact types, so subclasses such as an
    IntEnum still go through the model."""
    for key, value in payload.items():
        if type(key) is not str:
            return False
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                return False
        elif kind not in _JSON_SCALARS:
            return False
    return True


def _payload_model(name: str, func: HandlerFunc) -> type[BaseModel]:
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable annotations: accept any value for those fields
        hints = {}
    parameters = list(signature.parameters.values())[1:]  # the first one is the context
    fields: dict[str, Any] = {}
    extra = "forbid"
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise TypeError(f"handler {name!r}: payload fields cannot be positional-only")
        else:
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[parameter.name] = (hints.get(parameter.name, Any), default)
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True)  # type: ignore[typeddict-item]
    model: type[BaseModel] = create_model(f"{name}_payload", __config__=config, **fields)
    return model


class Registry:
    """Handlers by task type name."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(
        self, func: HandlerFunc, name: str | None = None, options: TaskOptions | None = None
    ) -> Handler:
        task_type = name or func.__name__
        parameters = list(inspect.signature(func).parameters)
        if not parameters:
            raise TypeError(f"handler {task_type!r} must take the task context as first argument")
        clashes = RESERVED_OPTION_NAMES.intersection(parameters[1:])
        if clashes:
            raise TypeError(
                f"handler {task_type!r}: parameter(s) {sorted(clashes)} clash with submit options;"
                " rename them"
            )
        handler = Handler(
            name=task_type,
            func=func,
            is_async=inspect.iscoroutinefunction(func),
            options=options or TaskOptions(),
            payload_model=_payload_model(task_type, func),
        )
        self._handlers[task_type] = handler
        return handler

    def get(self, task_type: str) -> Handler:
        try:
            return self._handlers[task_type]
        except KeyError:
            raise UnknownTaskType(task_type, self._handlers) from None

    def find(self, task_type: str) -> Handler | None:
        return self._handlers.get(task_type)

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def merged(self, other: Registry) -> Registry:
        combined = Registry()
        combined._handlers = {**self._handlers, **other._handlers}
        return combined

    def __iter__(self) -> Iterator[Handler]:
        return iter(self._handlers.values())

    def __contains__(self, task_type: object) -> bool:
        return task_type in self._handlers
