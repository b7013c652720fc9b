// How numbers, times and durations read on the page.

export const FINAL = new Set(["completed", "failed", "canceled"]);

export function parseTime(text) {
  return text ? new Date(text) : null;
}

/** Seconds as a person reads them: 850 µs, 12 ms, 1.4 s, 3 min 5 s, 2 h 4 min. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds === 0) return "0";
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 0.001) return `${sign}${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${sign}${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  if (s < 60) return `${sign}${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${sign}${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** How long before `now` (both Dates): "just now", "4 s ago", "3 min ago". */
export function ago(then, now = new Date()) {
  if (!then) return "never";
  const s = (now - then) / 1000;
  if (s < 1) return "just now";
  if (s < 60) return `${Math.floor(s)} s ago`;
  return `${duration(Math.floor(s)).replace(/ 0 s$/, "")} ago`;
}

/** A time of today as its clock reading, an older one with its date. */
export function when(date, now = new Date()) {
  if (!date) return "–";
  const today = date.toDateString() === now.toDateString();
  return today ? clock(date) : `${date.toLocaleDateString("en-CA")} ${clock(date, false)}`;
}

export function rate(value) {
  if (value === null || value === undefined) return "–";
  if (Number.isInteger(value) || value >= 100) return `${Math.round(value)}/s`;
  return `${value.toFixed(1)}/s`;
}

export function count(value) {
  return value === null || value === undefined ? "–" : Math.round(value).toLocaleString("en");
}

export function clock(date, seconds = true) {
  if (!date) return "–";
  const pad = (n) => String(n).padStart(2, "0");
  const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return seconds ? `${hm}:${pad(date.getSeconds())}` : hm;
}

/** Date and time, to the millisecond, in the reader's time zone. */
export function stamp(date) {
  if (!date) return "–";
  const day = date.toLocaleDateString("en-CA");
  return `${day} ${clock(date)}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

export function shortId(id) {
  return id && id.length > 13 ? `…${id.slice(-12)}` : id;
}

/** A task id for a table cell: the last 12 characters, the last 6 on a narrow screen. */
export function idCell(id) {
  const cell = document.createDocumentFragment();
  if (!id || id.length <= 13) {
    cell.append(id || "");
    return cell;
  }
  const middle = document.createElement("span");
  middle.className = "wide-only";
  middle.textContent = id.slice(-12, -6);
  cell.append("…", middle, id.slice(-6));
  return cell;
}

export function json(value) {
  return value === null || value === undefined ? "–" : JSON.stringify(value, null, 2);
}
