// Tasks: the filtered table, fetched again when a snapshot's counts change (never on a timer).

import { getJSON, Problem } from "./api.js";
import { $, el, replaceKeepingFocus } from "./dom.js";
import { ago, count, idCell, parseTime, when } from "./format.js";

const PAGE = 50;
const FULL_ID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const FILTERS = ["status", "type", "queue", "id"];

function row(task) {
  const created = parseTime(task.created_at);
  return el("tr", { dataset: { taskId: task.id, status: task.status } },
    el("th", { scope: "row" }, el("a", { href: `#/tasks/${task.id}`, title: task.id,
      class: "mono", dataset: { focusKey: task.id } }, idCell(task.id))),
    el("td", { text: task.type }),
    el("td", {}, el("span", { class: `badge ${task.status}`, text: task.status }),
      task.cancel_requested && task.status === "processing"
        ? el("span", { class: "muted", text: " cancel requested" }) : null),
    el("td", { class: "wide-only", text: task.queue }),
    el("td", { class: "num wide-only", text: String(task.priority) }),
    el("td", { class: "num wide-only", text: `${task.attempts}/${task.max_attempts}` }),
    el("td", { title: `${task.created_at} (${ago(created)})`, text: when(created) }));
}

export const tasks = {
  id: "tasks",
  tab: "tasks",
  path: /^\/tasks$/,
  filters: { status: "", type: "", queue: "", id: "" },
  rows: [],
  nextCursor: null,
  counts: null,
  stale: true,
  busy: false,
  again: false,
  summary: () => "",

  init(ctx) {
    const form = $("task-filters");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.applyForm();
    });
    for (const select of form.querySelectorAll("select")) {
      select.addEventListener("change", () => this.applyForm());
    }
    $("filter-id").addEventListener("search", () => this.applyForm()); // the clear button
    $("tasks-more").addEventListener("click", () => this.more());
    ctx.status().then((status) => {
      const select = $("filter-type");
      for (const name of status.task_types || []) select.append(el("option", { text: name }));
      select.value = this.filters.type;
    }).catch(() => {});
  },

  applyForm() {
    for (const name of FILTERS) this.filters[name] = $(`filter-${name}`).value.trim();
    const query = new URLSearchParams(Object.entries(this.filters).filter(([, v]) => v));
    const hash = `#/tasks${query.size ? `?${query}` : ""}`;
    if (location.hash !== hash) history.replaceState(null, "", hash);
    this.refresh({ reset: true });
  },

  show(params) {
    for (const name of FILTERS) {
      this.filters[name] = params.get(name) || "";
      $(`filter-${name}`).value = this.filters[name];
    }
    this.refresh({ reset: true });
  },

  snapshot(snapshot) {
    const counts = JSON.stringify(snapshot.counts);
    if (counts === this.counts) return;
    this.counts = counts;
    if ($("panel-tasks").hidden) this.stale = true;
    else this.refresh();
  },

  query(extra) {
    const params = new URLSearchParams();
    for (const name of ["status", "type", "queue"]) {
      if (this.filters[name]) params.set(name, this.filters[name]);
    }
    for (const [name, value] of Object.entries(extra)) params.set(name, value);
    return `/tasks?${params}`;
  },

  /** Fetch the first page again (as many rows as are shown); one fetch at a time. */
  async refresh({ reset = false } = {}) {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.stale = false;
    const summary = $("tasks-summary");
    try {
      const id = this.filters.id;
      if (id && FULL_ID.test(id)) {
        try {
          const task = await getJSON(`/tasks/${encodeURIComponent(id)}`);
          this.rows = [task];
          this.summary = () => "The task with this id";
        } catch (error) {
          if (!(error instanceof Problem) || error.status !== 404) throw error;
          this.rows = [];
          this.summary = () => `No task has the id ${id}`;
        }
        this.nextCursor = null;
      } else {
        const limit = id ? 1000 : Math.min(1000, Math.max(PAGE, reset ? 0 : this.rows.length));
        const body = await getJSON(this.query({ limit }));
        this.rows = id ? body.tasks.filter((task) => task.id.includes(id.toLowerCase())) : body.tasks;
        this.nextCursor = id ? null : body.next_cursor;
        this.rememberQueues(body.queues);
        this.summary = id
          ? () => `${this.rows.length} of the newest ${body.tasks.length} match “${id}”`
          : () => this.nextCursor ? `The newest ${count(this.rows.length)} tasks`
            : `${count(this.rows.length)} task${this.rows.length === 1 ? "" : "s"}, newest first`;
      }
      this.render();
    } catch (error) {
      summary.textContent = `Could not load tasks: ${error.message}`;
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  },

  async more() {
    if (!this.nextCursor || this.busy) return;
    this.busy = true;
    try {
      const body = await getJSON(this.query({ limit: PAGE, cursor: this.nextCursor }));
      this.rows = this.rows.concat(body.tasks);
      this.nextCursor = body.next_cursor;
      this.render();
    } catch (error) {
      $("tasks-summary").textContent = `Could not load more: ${error.message}`;
    } finally {
      this.busy = false;
    }
  },

  rememberQueues(queues) {
    const list = $("queue-names");
    const known = new Set([...list.options].map((option) => option.value));
    for (const name of Object.keys(queues || {})) {
      if (!known.has(name)) list.append(el("option", { value: name }));
    }
  },

  render() {
    const body = $("tasks-rows");
    replaceKeepingFocus(body, this.rows.length ? this.rows.map(row)
      : [el("tr", {}, el("td", { colspan: 7, class: "muted", text: "no tasks match" }))]);
    $("tasks-more").hidden = !this.nextCursor;
    $("tasks-summary").textContent = this.summary();
  },
};
