"""Request bodies as the HTTP API accepts them (strict JSON types, unknown fields refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from conveyor.service import TaskRequest


class TaskIn(BaseModel):
    """One task to submit."""

    model_config = ConfigDict(extra="forbid")

    type: StrictStr = Field(description="a registered task type, e.g. add")
    payload: dict[str, Any] = Field(
        default_factory=dict, description="the handler's keyword arguments"
    )
    priority: StrictInt | None = Field(None, description="0-9, higher first (default 5)")
    queue: StrictStr | None = Field(None, description='queue name (default "default")')
    delay: StrictFloat | None = Field(None, description="seconds before it may run")
    run_at: datetime | None = Field(None, description="RFC 3339 time before which it won't run")
    max_attempts: StrictInt | None = Field(None, description="tries before failing (default 3)")
    timeout: StrictFloat | None = Field(None, description="seconds a run may take")
    idempotency_key: StrictStr | None = Field(None, description="repeat-safe submit key")

    def to_request(self, idempotency_key: str | None = None) -> TaskRequest:
        return TaskRequest(
            type=self.type,
            payload=self.payload,
            priority=self.priority,
            queue=self.queue,
            delay_s=self.delay,
            run_at=self.run_at,
            max_attempts=self.max_attempts,
            timeout_s=self.timeout,
            idempotency_key=self.idempotency_key or idempotency_key,
        )


class BatchIn(BaseModel):
    """Several tasks, stored all or none."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskIn] = Field(min_length=1, max_length=10_000)


_REF = "#/components/schemas/{model}"
SUBMIT_BODY_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    TaskIn.model_json_schema(ref_template="#/components/schemas/{model}"),
                    BatchIn.model_json_schema(ref_template="#/components/schemas/{model}"),
                ]
            },
            "examples": {
                "one": {"value": {"type": "add", "payload": {"a": 1, "b": 2}, "priority": 7}},
                "batch": {
                    "value": {
                        "tasks": [
                            {"type": "echo", "payload": {"n": 1}},
                            {"type": "echo", "payload": {"n": 2}},
                        ]
                    }
                },
            },
        }
    },
}
