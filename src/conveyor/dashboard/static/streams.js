// Streams & HTTP: the ingest streams (GET /ingest), the HTTP server's own metrics (the
// "http" key of GET /metrics) and the static file cache (GET /cache, POST /cache/toggle).
// Fetched again on each pushed snapshot while the panel shows (never on a timer).

import { getJSON, postJSON } from "./api.js";
import { $, el, replaceKeepingFocus } from "./dom.js";
import { ago, count, duration, parseTime, stamp } from "./format.js";

function bytes(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

function fact(name, value, { id, bad } = {}) {
  return el("div", { class: bad ? "bad" : null }, el("dt", { text: name }),
    el("dd", { id, text: value }));
}

function table(caption, headers, rows, empty) {
  if (!rows.length) return el("p", { class: "muted", text: empty });
  return el("div", { class: "table-wrap" }, el("table", {},
    el("caption", { class: "visually-hidden", text: caption }),
    el("thead", {}, el("tr", {}, headers.map(([name, cls]) =>
      el("th", { scope: "col", class: cls, text: name })))),
    el("tbody", {}, rows)));
}

function streamRow(stream, warnAfter, now) {
  const idle = warnAfter && stream.inactivity_seconds !== null && stream.inactivity_seconds >= warnAfter;
  const last = parseTime(stream.last_received);
  return el("tr", { class: idle ? "stuck" : null, dataset: { stream: stream.stream } },
    el("th", { scope: "row" }, stream.stream, " ",
      idle ? el("span", { class: "mark stuck", text: "idle" }) : null),
    el("td", { class: "num", text: count(stream.received) }),
    el("td", { class: "num", text: count(stream.written_total) }),
    el("td", { text: ago(last, now), title: stamp(last) }),
    el("td", { class: "wide-only mono", text: stream.file || "–" }));
}

function renderIngest(ingest) {
  const now = new Date();
  const length = ingest.queue_length ?? 0;
  const warn = ingest.queue_warn_threshold;
  const errors = ingest.write_error_total ?? 0;
  replaceKeepingFocus($("ingest-facts"), [
    fact("queue length", `${count(length)} / ${count(warn)}`,
      { id: "ingest-queue", bad: warn && length >= warn }),
    fact("records written", count(ingest.write_success_total), { id: "ingest-written" }),
    fact("write errors", count(errors), { id: "ingest-errors", bad: errors > 0 }),
  ]);
  const meter = $("ingest-meter");
  meter.max = Math.max(warn || 1, length);
  meter.high = warn ? warn * 0.8 : meter.max;
  meter.value = length;
  const streams = (ingest.streams || []).slice().sort((a, b) => a.stream.localeCompare(b.stream));
  replaceKeepingFocus($("ingest-streams"), [table("Ingest streams",
    [["Stream"], ["Received", "num"], ["Written", "num"], ["Last record"], ["File", "wide-only"]],
    streams.map((s) => streamRow(s, ingest.inactivity_warn_threshold_sec, now)),
    "no stream has received a record yet")]);
}

function renderHttp(http) {
  replaceKeepingFocus($("http-facts"), [
    fact("in flight", count(http.in_flight), { id: "http-in-flight" }),
    fact("requests", count(http.requests_total), { id: "http-total" }),
    fact("shed (busy)", count(http.shed_total), { id: "http-shed", bad: http.shed_total > 0 }),
    fact("p95 latency", duration(http.latency_seconds?.p95), { id: "http-p95" }),
  ]);
  const statuses = Object.entries(http.responses || {}).sort(([a], [b]) => a.localeCompare(b));
  replaceKeepingFocus($("http-statuses"), [table("Responses by status code",
    [["Status"], ["Responses", "num"]],
    statuses.map(([code, n]) => el("tr", { class: code >= "500" ? "dead" : null },
      el("th", { scope: "row", text: code }), el("td", { class: "num", text: count(n) }))),
    "no responses yet")]);
  const devices = Object.entries(http.devices || {});
  replaceKeepingFocus($("http-devices"), [table("Requests by device type",
    [["Device"], ["Requests", "num"]],
    devices.map(([device, n]) => el("tr", {},
      el("th", { scope: "row", text: device }), el("td", { class: "num", text: count(n) }))),
    "no device counts")]);
  const routes = Object.entries(http.routes || {}).sort(([a], [b]) => a.localeCompare(b));
  $("http-routes-box").hidden = !routes.length;
  replaceKeepingFocus($("http-routes"), [table("Latency by route",
    [["Route"], ["Requests", "num"], ["p50", "num"], ["p95", "num wide-only"], ["p99", "num"]],
    routes.map(([route, q]) => el("tr", {},
      el("th", { scope: "row", class: "mono", text: route }),
      el("td", { class: "num", text: count(q.count) }),
      el("td", { class: "num", text: duration(q.p50) }),
      el("td", { class: "num wide-only", text: duration(q.p95) }),
      el("td", { class: "num", text: duration(q.p99) }))),
    "")]);
}

function renderCache(cache) {
  const button = $("cache-toggle");
  button.setAttribute("aria-pressed", String(Boolean(cache.enabled)));
  $("cache-state").textContent = cache.enabled ? "on" : "off";
  $("cache-state").className = `badge ${cache.enabled ? "completed" : "canceled"}`;
  const ratio = cache.hit_ratio === null || cache.hit_ratio === undefined
    ? "–" : `${Math.round(cache.hit_ratio * 100)} %`;
  replaceKeepingFocus($("cache-facts"), [
    ["entries", count(cache.entries)],
    ["size", `${bytes(cache.bytes)}${cache.max_bytes ? ` of ${bytes(cache.max_bytes)}` : ""}`],
    ["hits", count(cache.hits)],
    ["misses", count(cache.misses)],
    ["hit ratio", ratio],
    ["scope", cache.scope === "process" ? "this server process" : cache.scope || "–"],
  ].map(([name, value]) => el("div", { dataset: { fact: name } },
    el("dt", { text: name }), el("dd", { text: value }))));
}

export const streams = {
  id: "streams",
  tab: "streams",
  path: /^\/streams$/,
  busy: false,
  again: false,
  cacheTurn: 0, // bumped by each toggle: a read begun before it is stale

  init() {
    $("cache-toggle").addEventListener("click", () => this.toggle());
  },

  show() {
    this.refresh();
  },

  snapshot() {
    if (!$("panel-streams").hidden) this.refresh();
  },

  async refresh() {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    const turn = this.cacheTurn;
    try {
      const [ingest, metrics, cache] = await Promise.allSettled([
        getJSON("/ingest"), getJSON("/metrics"), getJSON("/cache")]);
      const failed = [];
      if (ingest.status === "fulfilled") renderIngest(ingest.value);
      else failed.push(`ingest (${ingest.reason.message})`);
      if (metrics.status === "fulfilled" && metrics.value?.http) renderHttp(metrics.value.http);
      else failed.push(`HTTP metrics (${metrics.reason?.message || "none reported"})`);
      if (cache.status === "fulfilled") {
        if (turn === this.cacheTurn) renderCache(cache.value);
      } else failed.push(`cache (${cache.reason.message})`);
      $("streams-error").textContent = failed.length ? `Cannot read ${failed.join(", ")}` : "";
      $("streams-error").hidden = !failed.length;
      $("streams-updated").textContent = `updated ${stamp(new Date())}`;
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.refresh();
      }
    }
  },

  async toggle() {
    // Not `disabled` while it runs: that would drop keyboard focus from the button.
    const button = $("cache-toggle");
    if (button.getAttribute("aria-busy") === "true") return;
    const want = button.getAttribute("aria-pressed") !== "true";
    this.cacheTurn += 1;
    button.setAttribute("aria-busy", "true");
    $("cache-result").textContent = "";
    try {
      const { body } = await postJSON(`/cache/toggle?enabled=${want}`);
      this.cacheTurn += 1;
      renderCache(body);
      $("cache-result").textContent = `Cache turned ${body.enabled ? "on" : "off"}.`;
    } catch (error) {
      $("cache-result").textContent = `Could not switch the cache: ${error.message}`;
    } finally {
      button.removeAttribute("aria-busy");
    }
  },
};
