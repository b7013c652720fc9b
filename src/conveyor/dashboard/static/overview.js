// Overview: headline counts and the live charts, from the stored history and then one
// point per snapshot.

import { getJSON } from "./api.js";
import { LineChart } from "./chart.js";
import { $ } from "./dom.js";
import { count, duration, rate } from "./format.js";
import { workerHealth } from "./workers.js";

const KEEP_S = 3600 + 120; // the longest range shown, and a little more

const seconds = (value) => (value === 0 ? "0" : duration(value));

/** A chart of the p50/p95/p99 series `<prefix>_p50`... that /dashboard/history serves. */
function percentileChart(id, title, prefix) {
  return new LineChart($(id), {
    title,
    format: seconds,
    floor: 0.01,
    series: ["p50", "p95", "p99"].map((p) => ({
      key: `${prefix}_${p}`,
      label: p,
      color: `--c-${p}`,
    })),
  });
}

export const overview = {
  id: "overview",
  tab: "overview",
  path: /^\/?$/,
  points: [],
  pending: [], // snapshot points that arrived while the history was loading
  loading: null,
  windowS: 300,
  charts: [],
  lastT: null,

  init() {
    this.charts = [
      new LineChart($("chart-throughput"), {
        title: "Tasks per second",
        format: rate,
        series: [
          { key: "submitted", label: "submitted", color: "--c-submitted" },
          { key: "completed", label: "completed", color: "--c-completed" },
          { key: "failed", label: "failed", color: "--c-failed" },
        ],
      }),
      new LineChart($("chart-depth"), {
        title: "Queue depth",
        format: count,
        floor: 4,
        series: [
          { key: "pending", label: "pending", color: "--c-pending" },
          { key: "processing", label: "processing", color: "--c-processing" },
        ],
      }),
      percentileChart("chart-wait", "Queue wait (run_at to start)", "wait"),
      percentileChart("chart-run", "Run time", "run"),
    ];
    for (const input of document.querySelectorAll('#range input[name="range"]')) {
      input.addEventListener("change", () => {
        this.windowS = Number(input.value);
        this.redraw();
      });
    }
    this.loadHistory();
  },

  /** Read the stored history (again after a reconnect, to fill the gap), then keep the
   * snapshot points that came in meanwhile. */
  loadHistory() {
    if (this.loading) return this.loading;
    const note = $("history-note");
    this.loading = getJSON("/dashboard/history?seconds=3600")
      .then((body) => {
        const points = body.points.slice();
        const lastT = points.length ? points[points.length - 1].t : -Infinity;
        for (const point of this.pending) if (point.t > lastT) points.push(point);
        const newer = this.points.filter((point) => point.t > (points.at(-1)?.t ?? -Infinity));
        this.points = points.concat(newer);
        note.hidden = true;
      })
      .catch((error) => {
        const lastT = this.points.length ? this.points[this.points.length - 1].t : -Infinity;
        this.points = this.points.concat(this.pending.filter((point) => point.t > lastT));
        note.textContent = `The stored history could not be read (${error.message}); ` +
          "the charts start from now.";
        note.hidden = false;
      })
      .finally(() => {
        this.pending = [];
        this.loading = null;
        this.redraw();
      });
    return this.loading;
  },

  snapshot(snapshot) {
    for (const [status, value] of Object.entries(snapshot.counts || {})) {
      const cell = $(`count-${status}`);
      if (cell) cell.textContent = count(value);
    }
    const health = workerHealth(snapshot);
    const workers = $("count-workers");
    workers.textContent = `${health.busy}/${health.consumers} busy`;
    const parent = workers.parentElement;
    parent.classList.toggle("bad", health.dead + health.stuck > 0);
    parent.title = health.dead + health.stuck
      ? `${health.dead} dead, ${health.stuck} stuck: see Workers` : "";
    const point = snapshot.point;
    if (!point) return;
    if (this.loading) {
      this.pending.push(point);
      return;
    }
    const last = this.points[this.points.length - 1];
    if (!last || point.t > last.t) this.points.push(point);
    const cut = point.t - KEEP_S;
    if (this.points.length && this.points[0].t < cut - 60) {
      this.points = this.points.filter((p) => p.t >= cut);
    }
    this.redraw();
  },

  redraw() {
    if ($("panel-overview").hidden || document.hidden) return;
    const last = this.points[this.points.length - 1];
    const end = last ? last.t : Date.now() / 1000;
    for (const chart of this.charts) chart.update(this.points, this.windowS, end);
  },

  show() {
    this.redraw();
  },
};
