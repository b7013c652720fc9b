// The dashboard's shell: one EventSource for the whole page, the hash router, and the
// panels it feeds.
//
// Adding a panel (ingest streams, HTTP server metrics, cache, load tests...): write a
// module that exports an object like those in PANELS below and list it there, add its
// <section id="panel-ID" hidden> and its tab link (data-panel="ID") to index.html. A panel
// has:
//   id        its section is #panel-<id>
//   tab       the data-panel of the tab marked current while it shows
//   path      a RegExp on the hash's path (named groups reach show() as `match`)
//   init(ctx)               once, at start; ctx.status() is GET /status (cached), and
//                           ctx.follow(taskId, onChange) reports a task's status live
//   show(params, match)     each time it is navigated to (params: the hash's query)
//   snapshot(snapshot)      each pushed snapshot (about once a second), shown or not
// A panel fetches more data when a snapshot says something changed, never on a timer.

import { getJSON } from "./api.js";
import { $ } from "./dom.js";
import { FINAL } from "./format.js";
import { overview } from "./overview.js";
import { streams } from "./streams.js";
import { submit } from "./submit.js";
import { taskPage } from "./task.js";
import { tasks } from "./tasks.js";
import { workers } from "./workers.js";

const PANELS = [overview, workers, tasks, taskPage, submit, streams];
const STALE_MS = 5000;

// Tasks whose status someone on the page watches: checked once at once, then on each
// snapshot until final.
const followers = new Map(); // task id -> {callbacks: Set, busy, again}

async function check(taskId) {
  const entry = followers.get(taskId);
  if (!entry) return;
  if (entry.busy) {
    entry.again = true;
    return;
  }
  entry.busy = true;
  try {
    const task = await getJSON(`/tasks/${taskId}/status`);
    for (const callback of entry.callbacks) callback(task);
    if (FINAL.has(task.status)) followers.delete(taskId);
  } catch {
    // the next snapshot tries again
  } finally {
    entry.busy = false;
    if (entry.again && followers.get(taskId) === entry) {
      entry.again = false;
      check(taskId);
    }
  }
}

function follow(taskId, onChange) {
  let entry = followers.get(taskId);
  if (!entry) {
    entry = { callbacks: new Set(), busy: false, again: false };
    followers.set(taskId, entry);
  }
  entry.callbacks.add(onChange);
  check(taskId);
  return () => {
    entry.callbacks.delete(onChange);
    if (!entry.callbacks.size && followers.get(taskId) === entry) followers.delete(taskId);
  };
}

let statusPromise = null;
const ctx = {
  status() {
    statusPromise ??= getJSON("/status").catch((error) => {
      statusPromise = null;
      throw error;
    });
    return statusPromise;
  },
  follow,
};

// Routing: #/ overview, #/workers, #/tasks?status=..., #/tasks/<id>, #/submit, #/streams.
function route(focus) {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  let shown = null;
  for (const panel of PANELS) {
    const match = shown ? null : panel.path.exec(path || "/");
    $(`panel-${panel.id}`).hidden = !match;
    if (match) shown = { panel, match };
  }
  if (!shown) {
    history.replaceState(null, "", "#/");
    route(focus);
    return;
  }
  for (const link of document.querySelectorAll("#tabs a")) {
    if (link.dataset.panel === shown.panel.tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  shown.panel.show?.(new URLSearchParams(query), shown.match);
  if (focus) $(`panel-${shown.panel.id}`).querySelector("h2")?.focus({ preventScroll: true });
  window.scrollTo({ top: 0 });
}

// The stream.
function connection(state, text) {
  $("connection").dataset.state = state;
  $("connection-text").textContent = text;
}

let staleTimer = null;
let snapshots = 0;
let lost = false;

function onSnapshot(event) {
  let snapshot;
  try {
    snapshot = JSON.parse(event.data);
  } catch {
    return;
  }
  clearTimeout(staleTimer);
  staleTimer = setTimeout(() => connection("stale", "no update for 5 s"), STALE_MS);
  connection("live", `live · ${new Date(snapshot.time).toLocaleTimeString("en-GB")}`);
  snapshots += 1;
  document.body.dataset.snapshots = snapshots; // how many arrived: tests wait on it
  for (const panel of PANELS) {
    try {
      panel.snapshot?.(snapshot);
    } catch (error) {
      console.warn(`panel ${panel.id} failed on a snapshot`, error);
    }
  }
  for (const taskId of followers.keys()) check(taskId);
}

function connect() {
  const source = new EventSource("/dashboard/events");
  source.addEventListener("snapshot", onSnapshot);
  source.addEventListener("open", () => {
    connection("live", "live");
    if (lost) overview.loadHistory(); // fill what was missed while away
    lost = false;
  });
  source.addEventListener("error", () => {
    lost = true;
    clearTimeout(staleTimer);
    if (source.readyState === EventSource.CLOSED) connection("down", "disconnected");
    else connection("down", "reconnecting…");
  });
}

for (const panel of PANELS) panel.init?.(ctx);
window.addEventListener("hashchange", () => route(true));
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) overview.redraw();
});
route(false);
connect();
getJSON("/whoami").then((me) => {
  $("node").textContent = `node ${me.node} · ${me.role} · version ${me.version}`;
}).catch(() => {
  $("node").textContent = "node unknown";
});
