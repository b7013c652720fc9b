"use strict";
// The minimal page: this node, task counts, and seed 003's "add two numbers" panel.

const $ = (id) => document.getElementById(id);

async function getJSON(url, options) {
  const response = await fetch(url, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `${response.status} ${response.statusText}`);
  return body;
}

async function refreshCounts() {
  try {
    const status = await getJSON("/status");
    const counts = $("counts");
    counts.replaceChildren(...Object.entries(status.tasks).map(([name, count]) => {
      const item = document.createElement("div");
      const term = document.createElement("dt");
      const value = document.createElement("dd");
      term.textContent = name;
      value.textContent = count;
      item.append(term, value);
      return item;
    }));
  } catch (error) {
    $("node").textContent = `cannot reach the server: ${error.message}`;
  }
}

function show(lines, isError = false) {
  const output = $("add-result");
  output.textContent = lines.join("\n");
  output.classList.toggle("error", isError);
}

async function followTask(taskId) {
  for (let tries = 0; tries < 600; tries += 1) {
    const task = await getJSON(`/tasks/${taskId}/status`);
    const lines = [`task ${task.task_id}: ${task.status}`,
      `initiated by ${task.initiated_by}`, `checked by ${task.checked_by}`];
    if (task.handled_by) lines.push(`handled by ${task.handled_by}`);
    if ("result" in task) lines.push(`result = ${task.result}`);
    if (task.error) lines.push(`error: ${task.error}`);
    show(lines, task.status === "failed");
    if (["completed", "failed", "canceled"].includes(task.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const a = $("add-a").value.trim();
  const b = $("add-b").value.trim();
  const mode = new FormData(event.target).get("mode");
  try {
    if (mode === "sync") {
      const sum = await getJSON(`/add?${new URLSearchParams({ a, b })}`);
      show([`${sum.a} + ${sum.b} = ${sum.result}`, `computed by ${sum.handled_by}`]);
    } else {
      const body = JSON.stringify({ a: Number(a), b: Number(b) });
      if (a === "" || b === "" || Number.isNaN(Number(a)) || Number.isNaN(Number(b))) {
        throw new Error("a and b must be numbers");
      }
      const queued = await getJSON("/task", {
        method: "POST", headers: { "Content-Type": "application/json" }, body,
      });
      show([`queued as ${queued.task_id}`]);
      await followTask(queued.task_id);
    }
  } catch (error) {
    show([error.message], true);
  }
  refreshCounts();
});

getJSON("/whoami").then((me) => {
  $("node").textContent = `node ${me.node} (${me.role}, version ${me.version})`;
}).catch(() => {});
refreshCounts();
setInterval(refreshCounts, 2000);
