// A line chart drawn by hand on a canvas: time across, one or more series up.
//
// The canvas carries what it last drew in `data-drawn` (JSON: points, max and last value
// per series), which the browser tests read to see a chart move.

import { el } from "./dom.js";
import { clock } from "./format.js";

const PAD = { left: 58, right: 12, top: 10, bottom: 22 };
const GAP_S = 5; // points further apart than this are not joined: nothing was recorded
const TIME_STEPS_S = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

function niceCeil(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const m = value / power;
  const step = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
  return step * power;
}

function firstIndexFrom(points, t) {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Averages of each series over buckets of `bucketS` seconds (empty buckets dropped). */
function bucketed(points, keys, start, bucketS) {
  const out = [];
  let current = null;
  for (const point of points) {
    const index = Math.floor((point.t - start) / bucketS);
    if (!current || current.index !== index) {
      current = { index, t: start + (index + 0.5) * bucketS, sums: {}, counts: {} };
      out.push(current);
    }
    for (const key of keys) {
      const value = point[key];
      if (value === null || value === undefined) continue;
      current.sums[key] = (current.sums[key] || 0) + value;
      current.counts[key] = (current.counts[key] || 0) + 1;
    }
  }
  return out.map(({ t, sums, counts }) => {
    const row = { t };
    for (const key of keys) row[key] = counts[key] ? sums[key] / counts[key] : null;
    return row;
  });
}

export class LineChart {
  /**
   * figure: an empty <figure> to fill; series: [{key, label, color}] where color names a
   * CSS custom property; format: value -> text, for the axis and the legend.
   */
  constructor(figure, { title, series, format, floor = 1 }) {
    this.title = title;
    this.series = series;
    this.format = format;
    this.floor = floor; // the y axis reaches at least this, so a quiet chart stays flat
    this.points = [];
    this.windowS = 300;
    this.end = null;
    this.drawn = [];
    this.hoverT = null;
    this.values = new Map();
    const items = series.map((s) => {
      const value = el("span", { class: "value", text: "–" });
      this.values.set(s.key, value);
      return el("li", {}, el("span", { class: "swatch", style: `background: var(${s.color})` }),
        el("span", { text: s.label }), value);
    });
    this.when = el("li", { class: "when muted" });
    this.legend = el("ul", { class: "legend" }, items, this.when);
    this.canvas = el("canvas", { role: "img", "aria-label": title, dataset: { drawn: "{}" } });
    figure.append(el("figcaption", { text: title }), this.legend, this.canvas);
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.canvas.addEventListener("pointermove", (event) => {
      const box = this.canvas.getBoundingClientRect();
      const x = event.clientX - box.left;
      const width = box.width - PAD.left - PAD.right;
      if (this.end === null || width <= 0) return;
      this.hoverT = this.end - this.windowS + ((x - PAD.left) / width) * this.windowS;
      this.draw();
    });
    this.canvas.addEventListener("pointerleave", () => {
      this.hoverT = null;
      this.draw();
    });
  }

  /** Show `points` (sorted by t) over the `windowS` seconds that end at `end`. */
  update(points, windowS, end) {
    this.points = points;
    this.windowS = windowS;
    this.end = end;
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height || this.end === null) return; // hidden, or nothing yet
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const colour = (name) => style.getPropertyValue(name).trim() || "#888";
    const plotW = Math.max(10, width - PAD.left - PAD.right);
    const plotH = Math.max(10, height - PAD.top - PAD.bottom);
    const start = this.end - this.windowS;
    const keys = this.series.map((s) => s.key);

    const visible = this.points.slice(firstIndexFrom(this.points, start));
    // More points than half-pixels: average them per bucket, so an hour stays readable.
    const bucketS = visible.length > plotW / 2 ? this.windowS / (plotW / 2) : 0;
    const rows = bucketS ? bucketed(visible, keys, start, bucketS) : visible;
    this.drawn = rows;

    const max = {};
    for (const key of keys) {
      max[key] = 0;
      for (const row of rows) if (row[key] !== null && row[key] > max[key]) max[key] = row[key];
    }
    const top = 4 * niceCeil(Math.max(this.floor, ...Object.values(max)) / 4); // 4 nice steps
    const x = (t) => PAD.left + ((t - start) / this.windowS) * plotW;
    const y = (v) => PAD.top + plotH - (v / top) * plotH;

    ctx.font = `11px ${style.fontFamily}`;
    ctx.lineWidth = 1;
    ctx.strokeStyle = colour("--chart-grid");
    ctx.fillStyle = colour("--chart-text");
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i += 1) {
      const value = (top * i) / 4;
      const yy = Math.round(y(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(PAD.left, yy);
      ctx.lineTo(PAD.left + plotW, yy);
      ctx.stroke();
      ctx.fillText(this.format(value), PAD.left - 6, yy);
    }
    const step = TIME_STEPS_S.find((s) => (s / this.windowS) * plotW >= 64) || 3600;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let t = Math.ceil(start / step) * step; t <= this.end; t += step) {
      const xx = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(xx, PAD.top + plotH);
      ctx.lineTo(xx, PAD.top + plotH + 4);
      ctx.stroke();
      if (xx > PAD.left + 16 && xx < PAD.left + plotW - 16) {
        ctx.fillText(clock(new Date(t * 1000), step < 60), xx, PAD.top + plotH + 6);
      }
    }

    if (!rows.length) {
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("no data yet", PAD.left + plotW / 2, PAD.top + plotH / 2);
    }
    const joinS = Math.max(GAP_S, bucketS * 2.5);
    ctx.lineWidth = 1.75;
    ctx.lineJoin = "round";
    for (const s of this.series) {
      ctx.strokeStyle = colour(s.color);
      ctx.beginPath();
      let previous = null;
      for (const row of rows) {
        const value = row[s.key];
        if (value === null || value === undefined) {
          previous = null;
          continue;
        }
        if (previous === null || row.t - previous > joinS) ctx.moveTo(x(row.t), y(value));
        else ctx.lineTo(x(row.t), y(value));
        previous = row.t;
      }
      ctx.stroke();
    }

    let shown = rows.length ? rows[rows.length - 1] : null;
    if (this.hoverT !== null && rows.length) {
      shown = rows.reduce((best, row) =>
        Math.abs(row.t - this.hoverT) < Math.abs(best.t - this.hoverT) ? row : best);
      ctx.strokeStyle = colour("--chart-text");
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(Math.round(x(shown.t)) + 0.5, PAD.top);
      ctx.lineTo(Math.round(x(shown.t)) + 0.5, PAD.top + plotH);
      ctx.stroke();
    }
    const texts = [];
    for (const s of this.series) {
      const value = shown ? shown[s.key] : null;
      const text = value === null || value === undefined ? "–" : this.format(value);
      this.values.get(s.key).textContent = text;
      texts.push(`${s.label} ${text}`);
    }
    this.when.textContent = shown && this.hoverT !== null ? `at ${clock(new Date(shown.t * 1000))}` : "";
    const range = this.windowS >= 3600 ? "last hour" : `last ${Math.round(this.windowS / 60)} minutes`;
    canvas.setAttribute("aria-label", `${this.title}, ${range}; latest: ${texts.join(", ")}`);
    const last = {};
    for (const key of keys) last[key] = rows.length ? rows[rows.length - 1][key] : null;
    canvas.dataset.drawn = JSON.stringify({ points: visible.length, max, last, top });
  }
}
