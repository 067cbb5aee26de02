// Building DOM from untrusted data: text only ever goes in as text (textContent, text nodes),
// never as markup. The page's CSP also requires Trusted Types, so an innerHTML would throw.

/**
 * el("td", {className: "tool", text: record.tool, title: "…", dataset: {id: "…"}}, child, "text", …)
 * Strings among the children become text nodes.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "className") node.className = String(value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Make `parent`'s children exactly `nodes`, moving as few as possible (a click in progress survives). */
export function syncChildren(parent, nodes) {
  for (let i = 0; i < nodes.length; i += 1) {
    const current = parent.children[i];
    if (current !== nodes[i]) parent.insertBefore(nodes[i], current ?? null);
  }
  while (parent.children.length > nodes.length) parent.lastElementChild.remove();
}

export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

export function formatTime(ms, now = Date.now()) {
  if (!ms) return "—";
  const date = new Date(ms);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const today = new Date(now);
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${time}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} m ${pad(seconds)} s`;
}

export function formatAgo(ms, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 10) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function shortId(id) {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}
