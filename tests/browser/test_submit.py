"""The submit panel: a payload that is not JSON, or that the server refuses, is shown on its
field; seed 003's "add two numbers" panel works in both modes."""

from __future__ import annotations

import re

from tests.browser.conftest import OpenDashboard
from tests.browser.support import expect
from tests.servers import ServerFactory


def test_a_bad_payload_shows_the_error_inline(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/submit")
    payload = page.locator("#submit-form").get_by_label("Payload (a JSON object)")
    error = page.locator("#submit-payload-error")
    page.locator("#submit-form").get_by_label("Type").select_option("add")
    expect(payload).to_have_value(re.compile(r'"a": 2'))  # the type's example

    # Not JSON: said while typing, with where; nothing is sent.
    payload.fill('{"a": 1,')
    expect(error).to_be_visible()
    expect(error).to_contain_text("JSON syntax error")
    expect(payload).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Submit task").click()
    expect(payload).to_be_focused()
    assert api.total() == 0

    payload.fill("[1, 2]")
    expect(error).to_have_text('The payload must be a JSON object, like {"a": 1}')

    # JSON the server refuses: its 422 names the field, shown under the payload.
    board.allow("status of 422")  # the browser's own line for the refused request
    payload.fill('{"a": 1, "b": "x"}')
    expect(error).to_be_hidden()
    page.get_by_role("button", name="Submit task").click()
    expect(error).to_be_visible()
    expect(error).to_contain_text("payload.b")
    expect(page.locator("#submit-result")).to_contain_text("Not submitted")
    assert api.total() == 0

    # A bad priority is shown under the priority.
    payload.fill('{"a": 1, "b": 2}')
    page.locator("#submit-form").get_by_label("Priority").fill("12")
    page.get_by_role("button", name="Submit task").click()
    expect(page.locator("#submit-priority-error")).to_be_visible()
    page.locator("#submit-form").get_by_label("Priority").fill("9")
    page.get_by_role("button", name="Submit task").click()
    expect(page.locator("#submit-priority-error")).to_be_hidden()
    expect(page.locator("#submit-result")).to_contain_text("Submitted")
    expect(page.locator("#submitted .badge").first).to_have_text("completed", timeout=10_000)
    [task] = api.get("/tasks").json()["tasks"]
    assert task["priority"] == 9
    assert task["result"] == 3


def test_the_add_panel_works_sync_and_async(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/submit")
    panel = page.locator("#add-form")
    result = page.locator("#add-result")

    panel.get_by_label("a", exact=True).fill("2")
    panel.get_by_label("b", exact=True).fill("3")
    panel.get_by_label("synchronous (GET /add)").check()
    panel.get_by_role("button", name="Add").click()
    expect(result).to_contain_text("2 + 3 = 5")
    expect(result).to_contain_text(f"computed by {api.node_id}")

    panel.get_by_label("a", exact=True).fill("40")
    panel.get_by_label("b", exact=True).fill("2.5")
    panel.get_by_label("asynchronous (POST /task, then its status)").check()
    panel.get_by_role("button", name="Add").click()
    expect(result).to_contain_text("result = 42.5", timeout=10_000)
    expect(result).to_contain_text(re.compile(r"task \S+: completed"))
    expect(result).to_contain_text(f"checked by {api.node_id}")
    expect(result).to_contain_text("handled by ")
    steps = page.locator("#add-steps li")
    expect(steps.last).to_contain_text("completed")
    assert steps.first.inner_text().endswith("pending")

    board.allow("status of 422")
    panel.get_by_label("b", exact=True).fill("x")
    panel.get_by_label("synchronous (GET /add)").check()
    panel.get_by_role("button", name="Add").click()
    expect(result).to_have_text("b: 'x' is not a number")
    expect(result).to_have_class(re.compile("error"))
