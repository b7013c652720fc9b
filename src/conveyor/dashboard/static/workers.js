// Workers: every node (process) and its threads from the snapshot, stuck or dead ones marked.

import { $, el, replaceKeepingFocus } from "./dom.js";
import { ago, idCell, parseTime } from "./format.js";

/** A thread that waits for work beats four times a second; silent this long it is stuck
 * (the server replaces it later, after its `stuck_thread_seconds`). */
export const STUCK_S = 10;

/** "ok", "stuck" or "dead" for one thread of one worker process. */
export function threadHealth(worker, thread) {
  if (worker.alive === false || thread.alive === false || thread.state === "dead") return "dead";
  const seen = parseTime(worker.last_seen);
  const active = parseTime(thread.last_active);
  const waiting = thread.state === "idle" || thread.state === "running";
  if (waiting && seen && active && (seen - active) / 1000 >= STUCK_S) return "stuck";
  return "ok";
}

/** Counts over every thread of every worker in a snapshot. */
export function workerHealth(snapshot) {
  const health = { processes: 0, threads: 0, consumers: 0, busy: 0, stuck: 0, dead: 0 };
  for (const worker of snapshot.workers || []) {
    health.processes += 1;
    if (worker.alive === false) health.dead += 1;
    for (const process of worker.info?.processes || []) if (process.alive === false) health.dead += 1;
    for (const thread of worker.threads || []) {
      health.threads += 1;
      if (thread.role === "consumer") health.consumers += 1;
      if (thread.state === "busy") health.busy += 1;
      const state = threadHealth(worker, thread);
      if (state === "stuck") health.stuck += 1;
      if (state === "dead" && worker.alive !== false) health.dead += 1;
    }
  }
  return health;
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function mark(state) {
  return state === "ok" ? null : el("span", { class: `mark ${state}`, text: state });
}

function threadRow(worker, thread, now) {
  const health = threadHealth(worker, thread);
  const key = `${worker.id}/${thread.name}`;
  const task = thread.task_id
    ? el("a", { href: `#/tasks/${thread.task_id}`, title: thread.task_id, dataset: { focusKey: key } },
      idCell(thread.task_id))
    : el("span", { class: "muted", text: "–" });
  return el("tr", { class: health === "ok" ? null : health },
    el("th", { scope: "row" }, thread.name, " ", mark(health)),
    el("td", { class: "wide-only", text: thread.role }),
    el("td", {}, el("span", { class: `state ${thread.state}`, text: thread.state })),
    el("td", {}, task),
    el("td", { text: ago(parseTime(thread.last_active), now), title: thread.last_active }),
    el("td", { class: "num", text: String(thread.restarts ?? 0) }));
}

function processList(worker) {
  const processes = worker.info?.processes;
  if (!processes || !processes.length) return null;
  return el("ul", { class: "children", "aria-label": `Worker processes of ${worker.id}` },
    processes.map((child) => el("li", { class: child.alive === false ? "dead" : null },
      el("strong", { text: child.node || `#${child.index}` }),
      ` pid ${child.pid ?? "–"}, restarts ${child.restarts ?? 0}`,
      child.last_exit ? `, last exit: ${child.last_exit}` : "",
      " ", child.alive === false ? mark("dead") : null)));
}

function workerCard(worker, now) {
  const info = worker.info || {};
  const role = info.role || (info.queues ? "worker" : "node");
  const facts = [
    info.hostname && `host ${info.hostname}`,
    `pid ${worker.pid}`,
    info.queues && `queues ${info.queues.join(", ")}`,
    info.threads !== undefined && `${info.threads} thread slots`,
    info.in_flight !== undefined && `${info.in_flight} in flight`,
    `started ${ago(parseTime(worker.started_at), now)}`,
    `seen ${ago(parseTime(worker.last_seen), now)}`,
  ].filter(Boolean);
  const threads = worker.threads || [];
  const table = threads.length
    ? el("div", { class: "table-wrap" }, el("table", {},
      el("caption", { class: "visually-hidden", text: `Threads of ${worker.id}` }),
      el("thead", {}, el("tr", {}, ["Thread", "Role", "State", "Task", "Last active", "Restarts"]
        .map((name, i) => el("th", { scope: "col", class: [null, "wide-only", null, null, null, "num"][i],
          text: name })))),
      el("tbody", {}, threads.map((thread) => threadRow(worker, thread, now)))))
    : el("p", { class: "muted", text: "no threads reported" });
  return el("article", { class: `card worker${worker.alive === false ? " dead" : ""}`,
    "aria-label": `Worker ${worker.id}` },
  el("h3", {}, worker.id, " ", el("span", { class: "muted", text: role }), " ",
    worker.alive === false ? mark("dead") : null),
  el("p", { class: "muted facts-line", text: facts.join(" · ") }),
  processList(worker),
  table);
}

export const workers = {
  id: "workers",
  tab: "workers",
  path: /^\/workers$/,
  latest: null,

  snapshot(snapshot) {
    this.latest = snapshot;
    if (!$("panel-workers").hidden) this.render();
  },

  show() {
    if (this.latest) this.render();
  },

  render() {
    const snapshot = this.latest;
    const now = parseTime(snapshot.time) || new Date();
    const list = (snapshot.workers || []).slice().sort((a, b) => a.id.localeCompare(b.id));
    const health = workerHealth(snapshot);
    const hosts = new Set(list.map((w) => w.info?.hostname).filter(Boolean));
    $("workers-summary").textContent =
      `${plural(health.processes, "process", "processes")} on ${plural(hosts.size || 1, "host")}, ` +
      `${health.threads} threads: ${health.busy} busy, ${health.stuck} stuck, ${health.dead} dead`;
    replaceKeepingFocus($("workers-list"), list.length
      ? list.map((worker) => workerCard(worker, now))
      : [el("p", { class: "muted", text: "no workers have reported" })]);
  },
};
