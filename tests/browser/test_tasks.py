"""The tasks table and a task's page: live without a reload, cancel and retry at once."""

from __future__ import annotations

import re

from tests.browser.conftest import OpenDashboard
from tests.browser.support import expect
from tests.servers import ServerFactory


def test_a_task_submitted_from_the_form_appears_and_completes(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    board = dashboard(api)
    page = board.open("#/submit")
    page.evaluate("window.notReloaded = true")
    page.locator("#submit-form").get_by_label("Type").select_option("sleep")
    page.locator("#submit-form").get_by_label("Payload (a JSON object)").fill('{"seconds": 1.5}')
    page.get_by_role("button", name="Submit task").click()
    link = page.locator("#submit-result a")
    expect(link).to_be_visible()
    task_id = (link.get_attribute("href") or "").removeprefix("#/tasks/")
    assert api.task(task_id)["type"] == "sleep"

    page.get_by_role("link", name="Tasks", exact=True).click()
    row = page.locator(f'#tasks-rows tr[data-task-id="{task_id}"]')
    expect(row).to_be_visible()
    expect(row).to_have_attribute("data-status", re.compile("pending|processing"))
    expect(row).to_have_attribute("data-status", "completed", timeout=15_000)
    expect(row.locator(".badge")).to_have_text("completed")

    # Filters and search by id narrow the table.
    api.submit({"type": "echo", "payload": {}})
    filters = page.locator("#task-filters")
    filters.get_by_label("Type").select_option("echo")
    expect(page.locator("#tasks-rows tr")).to_have_count(1)
    expect(row).to_have_count(0)
    filters.get_by_label("Type").select_option("")
    filters.get_by_label("Status").select_option("completed")
    expect(row).to_be_visible()
    filters.get_by_label("Task id").fill(task_id)
    filters.get_by_role("button", name="Apply").click()
    expect(page.locator("#tasks-rows tr")).to_have_count(1)
    expect(page.locator("#tasks-summary")).to_have_text("The task with this id")

    # Its page, by keyboard from the table.
    row.get_by_role("link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#task-title")).to_have_text(f"Task {task_id}")
    expect(page.locator("#task-status")).to_have_text("completed")
    expect(page.locator("#task-progress")).to_have_js_property("value", 1)
    expect(page.locator("#task-result")).to_contain_text('"slept": 1.5')
    expect(page.locator("#task-who")).to_contain_text(f"initiated by{api.node_id}")
    expect(page.locator("#task-timeline li.done")).to_have_count(5)  # 4 times and the outcome
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    assert page.evaluate("window.notReloaded") is True


def test_the_task_page_follows_a_running_task(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    task = api.submit({"type": "sleep", "payload": {"seconds": 4}})
    board = dashboard(api)
    page = board.open(f"#/tasks/{task['id']}")
    expect(page.locator("#task-status")).to_have_text("processing", timeout=10_000)
    progress = page.locator("#task-progress")
    first = progress.evaluate("p => p.value")
    page.wait_for_function(
        f"document.getElementById('task-progress').value > {first}", timeout=10_000
    )
    expect(page.locator("#task-status")).to_have_text("completed", timeout=15_000)
    expect(page.locator("#task-progress-text")).to_contain_text("100 %")


def test_a_failed_task_shows_its_error_traceback_and_retries(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0")
    task = api.submit({"type": "calculation", "payload": {"operation": "nope"}, "max_attempts": 1})
    api.wait_final(task["id"])
    board = dashboard(api)
    page = board.open(f"#/tasks/{task['id']}")
    expect(page.locator("#task-status")).to_have_text("failed")
    expect(page.locator("#task-error")).to_contain_text("unknown operation")
    page.get_by_text("Traceback", exact=True).click()
    expect(page.locator("#task-traceback")).to_contain_text("ValueError")
    expect(page.locator("#task-facts")).to_contain_text("attempts1 of 1")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#task-action-result")).to_have_text("retried: pending again")
    # It runs again (and fails again), live on the page.
    expect(page.locator("#task-status")).to_have_text("failed", timeout=15_000)
    assert api.task(task["id"])["status"] == "failed"


def test_cancel_acts_at_once_on_a_pending_task(
    server: ServerFactory, dashboard: OpenDashboard
) -> None:
    api = server("--processes", "0", "--queues", "default")
    board = dashboard(api)
    page = board.open("#/submit")
    page.locator("#submit-form").get_by_label("Type").select_option("echo")
    page.locator("#submit-form").get_by_label("Queue").fill("parked")  # no worker consumes it
    page.get_by_role("button", name="Submit task").click()
    page.locator("#submit-result a").click()
    expect(page.locator("#task-status")).to_have_text("pending")
    task_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#task-facts")).to_contain_text("queueparked")

    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#task-action-result")).to_have_text(re.compile("^canceled"))
    expect(page.locator("#task-status")).to_have_text("canceled")
    assert api.task(task_id)["status"] == "canceled"
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()

    # The submit panel's list follows the same task.
    page.get_by_role("link", name="Submit", exact=True).click()
    expect(page.locator(f'#submitted li[data-task-id="{task_id}"] .badge')).to_have_text("canceled")

    # Retry puts it back, pending; a second cancel is refused once it is final again.
    page.go_back()
    expect(page.locator("#task-title")).to_have_text(f"Task {task_id}")
    page.get_by_role("button", name="Retry").click()
    expect(page.locator("#task-status")).to_have_text("pending")
    assert api.task(task_id)["status"] == "pending"
