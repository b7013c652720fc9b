// Submit: a task of any registered type (JSON payload checked as it is typed, the server's
// 422 shown on its field), and seed 003's "add two numbers" panel, sync and async.

import { getJSON, postJSON, Problem } from "./api.js";
import { $, el, fieldError } from "./dom.js";
import { clock, FINAL, shortId } from "./format.js";

/** A payload to start from, for the types the server ships with. */
const EXAMPLES = {
  add: { a: 2, b: 3 },
  calculation: { input_value: 12, operation: "square" },
  sleep: { seconds: 5 },
  echo: { message: "hello" },
  validation: { data: { age: 42 }, rules: { required: ["age"], min: 0, max: 150 } },
  content: { content: "hello", seconds: 3 },
};
const FIELDS = ["type", "payload", "queue", "priority", "delay"];
const RECENT = 8;

/** The payload text as an object, or an error message saying where it is wrong. */
export function parsePayload(text) {
  if (!text.trim()) return { value: {} };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    let message = error.message.replace(/^JSON\.parse: /, "");
    const at = /position (\d+)/.exec(message);
    if (at && !/line \d+/.test(message)) {
      const before = text.slice(0, Number(at[1])).split("\n");
      message += ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
    }
    return { error: `JSON syntax error: ${message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { error: "The payload must be a JSON object, like {\"a\": 1}" };
  }
  return { value };
}

function exampleFor(type) {
  return JSON.stringify(EXAMPLES[type] ?? {}, null, 2);
}

export const submit = {
  id: "submit",
  tab: "submit",
  path: /^\/submit$/,
  ctx: null,
  recent: [], // {id, type, status, unfollow}
  lastExample: "{}",

  init(ctx) {
    this.ctx = ctx;
    const type = $("submit-type");
    const payload = $("submit-payload");
    ctx.status().then((status) => {
      const names = status.task_types || [];
      type.replaceChildren(...names.map((name) => el("option", { text: name })));
      if (names.includes("add")) type.value = "add";
      this.useExample();
    }).catch((error) => {
      fieldError(type, $("submit-type-error"), `Could not read the task types: ${error.message}`);
    });
    type.addEventListener("change", () => this.useExample());
    payload.addEventListener("input", () => this.checkPayload());
    $("submit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    $("add-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(event.target);
    });
  },

  /** A new type gets its example payload, unless the reader has written their own. */
  useExample() {
    const payload = $("submit-payload");
    if (payload.value.trim() === this.lastExample.trim() || payload.value.trim() === "{}") {
      this.lastExample = exampleFor($("submit-type").value);
      payload.value = this.lastExample;
    }
    this.checkPayload();
  },

  checkPayload() {
    const parsed = parsePayload($("submit-payload").value);
    fieldError($("submit-payload"), $("submit-payload-error"), parsed.error);
    return parsed;
  },

  clearErrors() {
    for (const name of FIELDS) fieldError($(`submit-${name}`), $(`submit-${name}-error`), "");
  },

  async send() {
    const out = $("submit-result");
    out.className = "";
    this.clearErrors();
    const parsed = this.checkPayload();
    if (parsed.error) {
      out.textContent = "";
      $("submit-payload").focus();
      return;
    }
    const body = { type: $("submit-type").value, payload: parsed.value };
    const queue = $("submit-queue").value.trim();
    if (queue) body.queue = queue;
    const numbers = { priority: $("submit-priority").value, delay: $("submit-delay").value };
    for (const [name, text] of Object.entries(numbers)) {
      if (text.trim() === "") continue;
      const value = Number(text);
      if (Number.isNaN(value) || !$(`submit-${name}`).checkValidity()) {
        fieldError($(`submit-${name}`), $(`submit-${name}-error`), `${name} must be a number`
          + (name === "priority" ? " from 0 to 9" : " of seconds, 0 or more"));
        $(`submit-${name}`).focus();
        return;
      }
      if (name === "delay" && value === 0) continue;
      body[name] = value;
    }
    out.textContent = "submitting…";
    try {
      const { body: task } = await postJSON("/tasks", body);
      out.replaceChildren("Submitted ", el("a", { href: `#/tasks/${task.id}`, class: "mono" },
        shortId(task.id)), ` (${task.status})`);
      out.className = "ok";
      this.remember(task);
    } catch (error) {
      out.className = "error";
      if (error instanceof Problem && error.field) {
        const name = error.field.split(".")[0];
        if (FIELDS.includes(name)) {
          fieldError($(`submit-${name}`), $(`submit-${name}-error`), error.message);
          out.textContent = "Not submitted: see the field marked above.";
          return;
        }
      }
      out.textContent = `Not submitted: ${error.message}`;
    }
  },

  remember(task) {
    const entry = { id: task.id, type: task.type, status: task.status, unfollow: null };
    this.recent.unshift(entry);
    for (const old of this.recent.splice(RECENT)) if (old.unfollow) old.unfollow();
    entry.unfollow = this.ctx.follow(task.id, (state) => {
      entry.status = state.status;
      this.renderRecent();
    });
    this.renderRecent();
  },

  renderRecent() {
    $("submitted").replaceChildren(...this.recent.map((entry) =>
      el("li", { dataset: { taskId: entry.id } },
        el("a", { href: `#/tasks/${entry.id}`, class: "mono", title: entry.id }, shortId(entry.id)),
        ` ${entry.type} `, el("span", { class: `badge ${entry.status}`, text: entry.status }))));
  },

  /** Seed 003's panel: GET /add answers at once; POST /task queues it, and each status
   * change of the task is listed as it happens. */
  async add(form) {
    const a = $("add-a").value.trim();
    const b = $("add-b").value.trim();
    const mode = new FormData(form).get("mode");
    const out = $("add-result");
    const steps = $("add-steps");
    const show = (lines, isError = false) => {
      out.textContent = lines.join("\n");
      out.classList.toggle("error", isError);
    };
    if (this.stopAdd) this.stopAdd();
    steps.replaceChildren();
    try {
      if (mode === "sync") {
        const sum = await getJSON(`/add?${new URLSearchParams({ a, b })}`);
        show([`${sum.a} + ${sum.b} = ${sum.result}`, `computed by ${sum.handled_by}`]);
        return;
      }
      if (a === "" || b === "" || Number.isNaN(Number(a)) || Number.isNaN(Number(b))) {
        throw new Error("a and b must be numbers");
      }
      const { body: queued } = await postJSON("/task", { a: Number(a), b: Number(b) });
      show([`queued as ${queued.task_id}`]);
      const step = (status) => steps.append(el("li", { class: status },
        el("time", { text: clock(new Date()) }), ` ${status}`));
      let seen = queued.status;
      step(seen);
      this.stopAdd = this.ctx.follow(queued.task_id, (task) => {
        const lines = [`task ${task.task_id}: ${task.status}`,
          `initiated by ${task.initiated_by}`, `checked by ${task.checked_by}`];
        if (task.handled_by) lines.push(`handled by ${task.handled_by}`);
        if ("result" in task && task.result !== null) lines.push(`result = ${task.result}`);
        if (task.error) lines.push(`error: ${task.error}`);
        show(lines, task.status === "failed");
        if (task.status !== seen) {
          seen = task.status;
          step(seen);
        }
        if (FINAL.has(task.status)) this.stopAdd = null;
      });
    } catch (error) {
      show([error.message], true);
    }
  },
};
