// The HTTP routes the page calls, and their errors (RFC 9457 problems) as exceptions.

/** A non-2xx answer: `detail` and `field` from the problem body when there is one. */
export class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.field = body && body.field ? body.field : null;
    this.body = body;
  }
}

async function call(url, options = {}) {
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Problem(0, { detail: `cannot reach the server (${error.message})` });
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new Problem(response.status, body);
  return { status: response.status, body };
}

export async function getJSON(url, options) {
  return (await call(url, options)).body;
}

export async function postJSON(url, payload, options = {}) {
  return call(url, {
    ...options,
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json" },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
}
