// One task's page (#/tasks/<id>): everything about it, live until it is final, with
// Cancel and Retry.

import { getJSON, postJSON, Problem } from "./api.js";
import { $, el } from "./dom.js";
import { duration, FINAL, json, parseTime, stamp } from "./format.js";

const STEPS = [
  ["created_at", "created"],
  ["run_at", "due (run_at)"],
  ["started_at", "started"],
  ["finished_at", "finished"],
];

function facts(list, pairs) {
  list.replaceChildren(...pairs.map(([term, value]) =>
    el("div", {}, el("dt", { text: term }), el("dd", { text: value ?? "–" }))));
}

function timeline(task) {
  const items = [];
  let previous = null;
  for (const [field, label] of STEPS) {
    const when = parseTime(task[field]);
    if (!when) {
      items.push(el("li", { class: "future" }, el("strong", { text: label }),
        el("span", { class: "muted", text: " not yet" })));
      continue;
    }
    const gap = previous ? ` (+${duration((when - previous) / 1000)})` : "";
    items.push(el("li", { class: "done" }, el("strong", { text: label }), " ",
      el("time", { datetime: task[field], text: stamp(when) }),
      el("span", { class: "muted", text: gap })));
    if (field !== "run_at" || when > previous) previous = when;
  }
  if (FINAL.has(task.status)) {
    items.push(el("li", { class: `done ${task.status}` },
      el("strong", { text: task.status }), task.updated_at
        ? el("span", { class: "muted", text: ` at ${stamp(parseTime(task.updated_at))}` }) : null));
  }
  return items;
}

export const taskPage = {
  id: "task",
  tab: "tasks",
  path: /^\/tasks\/(?<id>[^/?]+)$/,
  taskId: null,
  task: null,
  loading: false,

  init() {
    $("task-cancel").addEventListener("click", () => this.act("cancel"));
    $("task-retry").addEventListener("click", () => this.act("retry"));
  },

  show(params, match) {
    const id = decodeURIComponent(match.groups.id);
    if (id !== this.taskId) {
      this.taskId = id;
      this.task = null;
      $("task-action-result").textContent = "";
      $("task-title").textContent = `Task ${id}`;
      $("task-status").textContent = "";
      $("task-status").className = "badge";
    }
    this.load();
  },

  snapshot() {
    if ($("panel-task").hidden || !this.task || FINAL.has(this.task.status)) return;
    this.load();
  },

  async load() {
    if (this.loading || !this.taskId) return;
    this.loading = true;
    const id = this.taskId;
    try {
      const task = await getJSON(`/tasks/${encodeURIComponent(id)}`);
      if (id === this.taskId) this.render(task);
    } catch (error) {
      if (id !== this.taskId) return;
      const missing = $("task-missing");
      missing.textContent = error instanceof Problem && error.status === 404
        ? `No task has the id ${id}.` : `Could not load the task: ${error.message}`;
      missing.hidden = false;
      $("task-body").hidden = !!(error instanceof Problem && error.status === 404);
    } finally {
      this.loading = false;
    }
  },

  async act(action) {
    const out = $("task-action-result");
    const button = $(`task-${action}`);
    button.disabled = true;
    out.className = "";
    out.textContent = action === "cancel" ? "canceling…" : "retrying…";
    try {
      const { status, body } = await postJSON(`/tasks/${encodeURIComponent(this.taskId)}/${action}`);
      out.textContent = action === "retry" ? "retried: pending again"
        : status === 202 ? "cancel requested: the handler is asked to stop"
          : `canceled (${body.status})`;
      out.className = "ok";
      if (body && body.id === this.taskId) this.render(body);
    } catch (error) {
      out.textContent = `${action} refused: ${error.message}`;
      out.className = "error";
    }
    await this.load();
  },

  render(task) {
    this.task = task;
    $("task-missing").hidden = true;
    $("task-body").hidden = false;
    $("task-title").textContent = `Task ${task.id}`;
    const badge = $("task-status");
    badge.textContent = task.cancel_requested && !FINAL.has(task.status)
      ? `${task.status}, cancel requested` : task.status;
    badge.className = `badge ${task.status}`;
    $("task-cancel").disabled = FINAL.has(task.status) || task.cancel_requested;
    $("task-retry").disabled = !(task.status === "failed" || task.status === "canceled");

    const progress = $("task-progress");
    const fraction = task.status === "completed" ? 1 : task.progress;
    if (fraction === null || fraction === undefined) {
      progress.removeAttribute("value"); // indeterminate while it runs, empty before
      if (task.status !== "processing") progress.value = 0;
    } else {
      progress.value = fraction;
    }
    // No progress to show for a task that never reported any and did not complete.
    progress.closest(".progress-row").hidden = (fraction === null || fraction === undefined)
      && task.status !== "processing";
    const percent = fraction === null || fraction === undefined ? "" : `${Math.round(fraction * 100)} %`;
    $("task-progress-text").textContent = [percent, task.progress_message].filter(Boolean).join(" · ");

    const wait = task.started_at && task.run_at
      ? (parseTime(task.started_at) - parseTime(task.run_at)) / 1000 : null;
    const run = task.finished_at && task.started_at
      ? (parseTime(task.finished_at) - parseTime(task.started_at)) / 1000 : null;
    facts($("task-facts"), [
      ["type", task.type],
      ["queue", task.queue],
      ["priority", String(task.priority)],
      ["attempts", `${task.attempts} of ${task.max_attempts}`],
      ["queue wait", wait === null ? null : duration(Math.max(0, wait))],
      ["run time", run === null ? null : duration(run)],
    ]);
    facts($("task-who"), [
      ["initiated by", task.initiated_by],
      ["checked by", task.checked_by],
      ["handled by", task.handled_by],
    ]);
    $("task-timeline").replaceChildren(...timeline(task));
    $("task-payload").textContent = json(task.payload);
    $("task-result").textContent = json(task.result);
    $("task-error").textContent = task.error || "none";
    const traceback = $("task-traceback-box");
    traceback.hidden = !task.traceback;
    $("task-traceback").textContent = task.traceback || "";
  },
};
