// The live dashboard: token -> history over HTTP -> live events over the WebSocket.

import { ApiError, apiBase, getEvents, getFullEvent, getHistory } from "./api.js";
import { drawChart } from "./chart.js";
import { el, formatAgo, formatDuration, formatTime, setText, shortId, syncChildren } from "./dom.js";
import { LiveStream } from "./live.js";
import { EventStore, TOOL_ENDS, TOOL_START, isActive, matches, perMinute, sessionsByMachine, summary } from "./store.js";

const TOKEN_KEY = "claude-events.token";
const MAX_ROWS = 300; // rows drawn; the rest are kept and searchable
const RESYNC_MARGIN_MS = 5 * 60_000;
const TICK_MS = 15_000;
const RUNNING_MS = 10 * 60_000; // a PreToolUse without its result for longer is no longer "running"

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  counts: $("counts"),
  signout: $("signout"),
  alert: $("alert"),
  alertText: $("alert-text"),
  alertRetry: $("alert-retry"),
  login: $("login"),
  loginError: $("login-error"),
  tokenForm: $("token-form"),
  tokenInput: $("token"),
  dashboard: $("dashboard"),
  sessionList: $("session-list"),
  allSessions: $("all-sessions"),
  filters: $("filters"),
  filterEvent: $("filter-event"),
  filterTool: $("filter-tool"),
  filterText: $("filter-text"),
  filterAttention: $("filter-attention"),
  clearFilters: $("clear-filters"),
  chart: $("chart"),
  chartSummary: $("chart-summary"),
  streamInfo: $("stream-info"),
  streamBody: $("stream-body"),
  detail: $("detail"),
  detailTitle: $("detail-title"),
  detailNote: $("detail-note"),
  detailPair: $("detail-pair"),
  detailJson: $("detail-json"),
  detailClose: $("detail-close"),
  detailSession: $("detail-session"),
};

const websocketUrl = document.querySelector('meta[name="claude-events-websocket"]')?.content ?? "";

const state = {
  token: null,
  store: new EventStore(),
  filter: { sessionId: "", event: "", tool: "", text: "", attention: false },
  selectedId: null,
  detailFetch: new Map(), // eventId -> "loading" | "full" | "stored-truncated" | error message
  live: null,
  generation: 0, // bumped on sign-out: answers of an older generation are dropped
  disconnectedAt: null,
  unreachable: false, // the last try found no API at all
  historyAttempt: 0,
  historyTimer: null,
  renderQueued: false,
  rows: new Map(), // eventId -> {sig, node}
  sessionNodes: new Map(), // sessionId -> {sig, node}
  optionsSig: { event: "", tool: "" },
};

// Status, alerts, login --------------------------------------------------------------------

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  setText(ui.status, text);
  document.body.dataset.live = kind;
}

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function showAlert(text, { retry = false, kind = "error" } = {}) {
  setText(ui.alertText, sentence(text));
  ui.alert.dataset.kind = kind;
  ui.alertRetry.hidden = !retry;
  ui.alert.hidden = false;
}

function clearAlert() {
  ui.alert.hidden = true;
  setText(ui.alertText, "");
}

function showLogin(error = "") {
  ui.dashboard.hidden = true;
  ui.signout.hidden = true;
  ui.login.hidden = false;
  setText(ui.loginError, sentence(error));
  ui.loginError.hidden = !error;
  setStatus("signed-out", "Not connected");
  setText(ui.counts, "");
  ui.tokenInput.focus();
}

function signOut(error = "") {
  state.generation += 1;
  state.live?.stop();
  state.live = null;
  clearTimeout(state.historyTimer);
  state.token = null;
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: nothing was kept
  }
  state.store = new EventStore();
  state.rows.clear();
  state.sessionNodes.clear();
  state.selectedId = null;
  state.detailFetch.clear();
  state.disconnectedAt = null;
  clearAlert();
  closeDetail();
  showLogin(error);
}

function tokenProblem(error) {
  return `${error.message}. Enter a token with the read scope.`;
}

// Loading ----------------------------------------------------------------------------------

function start(token) {
  state.token = token;
  state.generation += 1;
  state.historyAttempt = 0;
  ui.login.hidden = true;
  ui.dashboard.hidden = false;
  ui.signout.hidden = false;
  readHash();
  loadHistory(state.generation);
}

async function loadHistory(generation) {
  setStatus("connecting", "Loading history…");
  try {
    const [all, session] = await Promise.all([
      getHistory(state.token),
      state.filter.sessionId ? getHistory(state.token, { sessionId: state.filter.sessionId }) : null,
    ]);
    if (generation !== state.generation) return;
    state.store.merge(all.events);
    if (session) state.store.merge(session.events);
    state.historyAttempt = 0;
    clearAlert();
    scheduleRender();
    openLive(generation);
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.isTokenProblem) {
      signOut(tokenProblem(error));
      return;
    }
    const delay = Math.min(1000 * 2 ** state.historyAttempt, 30_000);
    state.historyAttempt += 1;
    setStatus("offline", "Offline");
    showAlert(`${error.message}. Retrying in ${Math.round(delay / 1000)} s.`, { retry: true });
    clearTimeout(state.historyTimer);
    state.historyTimer = setTimeout(() => loadHistory(generation), delay);
  }
}

function openLive(generation) {
  if (!websocketUrl) {
    setStatus("offline", "History only");
    showAlert("This page was given no WebSocket URL (WEBSOCKET_URL): it shows history, not live events.", {
      kind: "warning",
    });
    return;
  }
  const live = new LiveStream({
    url: websocketUrl,
    token: state.token,
    onEvents: (events) => {
      if (generation !== state.generation) return;
      if (state.store.merge(events)) scheduleRender();
    },
    onState: (kind, detail) => {
      if (generation !== state.generation) return;
      if (kind === "open") {
        state.unreachable = false;
        setStatus("live", "Live");
        if (state.disconnectedAt !== null) resync(generation);
        clearAlert();
      } else if (kind === "connecting") {
        setStatus("connecting", "Connecting…");
      } else if (kind === "waiting") {
        state.disconnectedAt ??= Date.now();
        const seconds = Math.max(1, Math.round(detail.delayMs / 1000));
        if (state.unreachable) setStatus("offline", `Offline · retrying in ${seconds} s`);
        else setStatus("waiting", `Reconnecting in ${seconds} s`);
      }
    },
    onRefused: () => diagnoseRefusal(generation, live),
    onError: (message) => {
      if (generation === state.generation) showAlert(`The live connection answered: ${message}`, { kind: "warning" });
    },
  });
  state.live = live;
  live.start();
}

// A browser never shows why a WebSocket handshake failed: ask the HTTP API with the same token.
async function diagnoseRefusal(generation, live) {
  state.disconnectedAt ??= Date.now();
  try {
    await getEvents(state.token, { limit: 1 });
    if (generation !== state.generation) return;
    state.unreachable = false;
    showAlert("The live connection was refused or could not be opened; the HTTP API works. Retrying.", {
      retry: true,
      kind: "warning",
    });
    live.retry();
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.isTokenProblem) {
      signOut(tokenProblem(error));
      return;
    }
    state.unreachable = true;
    showAlert(`${error.message}. Retrying.`, { retry: true });
    live.retry();
  }
}

// After a drop: what arrived meanwhile, over HTTP (the WebSocket's own history is only the newest 100).
async function resync(generation) {
  const newest = state.store.newest()?.ms ?? Date.now();
  const from = Math.min(newest, state.disconnectedAt ?? newest) - RESYNC_MARGIN_MS;
  state.disconnectedAt = null;
  try {
    const [all, session] = await Promise.all([
      getHistory(state.token, { since: new Date(from).toISOString() }),
      state.filter.sessionId ? getHistory(state.token, { sessionId: state.filter.sessionId, since: new Date(from).toISOString() }) : null,
    ]);
    if (generation !== state.generation) return;
    state.store.merge(all.events);
    if (session) state.store.merge(session.events);
    scheduleRender();
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.isTokenProblem) signOut(tokenProblem(error));
    // Otherwise the live stream goes on; its own history covered the newest events.
  }
}

async function loadSession(sessionId) {
  const generation = state.generation;
  try {
    const { events } = await getHistory(state.token, { sessionId });
    if (generation !== state.generation) return;
    if (state.store.merge(events)) scheduleRender();
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && error.isTokenProblem) signOut(tokenProblem(error));
    else showAlert(`Could not load the session's history: ${error.message}.`, { kind: "warning" });
  }
}

// Filters and selection --------------------------------------------------------------------

function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  state.filter.sessionId = params.get("session") ?? "";
}

function selectSession(sessionId) {
  state.filter.sessionId = sessionId;
  const url = sessionId ? `#session=${encodeURIComponent(sessionId)}` : window.location.pathname + window.location.search;
  history.replaceState(null, "", url);
  if (sessionId) loadSession(sessionId);
  scheduleRender();
}

function readFilters() {
  state.filter.event = ui.filterEvent.value;
  state.filter.tool = ui.filterTool.value;
  state.filter.text = ui.filterText.value.trim();
  state.filter.attention = ui.filterAttention.checked;
  scheduleRender();
}

function selectEvent(id) {
  state.selectedId = id;
  const record = state.store.get(id);
  if (record?.truncated && !state.detailFetch.has(id)) fetchFull(record);
  scheduleRender();
}

async function fetchFull(record) {
  const { id } = record;
  const generation = state.generation;
  state.detailFetch.set(id, "loading");
  try {
    const full = await getFullEvent(state.token, record.event);
    if (generation !== state.generation) return;
    if (full && full.truncated !== true) {
      state.store.merge([full]);
      state.detailFetch.set(id, "full");
    } else {
      state.detailFetch.set(id, full ? "stored-truncated" : "missing");
    }
  } catch (error) {
    if (generation !== state.generation) return;
    state.detailFetch.set(id, `Could not fetch the full event: ${error.message}.`);
  }
  scheduleRender();
}

function closeDetail() {
  state.selectedId = null;
  ui.detail.hidden = true;
  document.body.classList.remove("with-detail");
}

// Rendering --------------------------------------------------------------------------------

function scheduleRender() {
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    render();
  });
}

function render() {
  if (ui.dashboard.hidden) return;
  const now = Date.now();
  const { store } = state;
  setText(ui.counts, `${store.size} events · ${store.sessions.size} sessions`);
  renderOptions();
  renderSessions(now);
  const shown = store.list.filter((record) => matches(record, state.filter));
  renderStream(shown, now);
  setText(ui.chartSummary, drawChart(ui.chart, perMinute(shown, now, 30)));
  ui.chart.setAttribute("aria-label", ui.chartSummary.textContent);
  renderDetail();
}

function setOptions(select, values, all, key) {
  const sig = values.join("\n");
  if (state.optionsSig[key] === sig) return;
  state.optionsSig[key] = sig;
  const current = select.value;
  const list = current && !values.includes(current) ? [...values, current] : values;
  select.replaceChildren(el("option", { value: "", text: all }), ...list.map((value) => el("option", { value, text: value })));
  select.value = current;
}

function renderOptions() {
  setOptions(ui.filterEvent, state.store.eventNames, "All event types", "event");
  setOptions(ui.filterTool, state.store.tools, "All tools", "tool");
}

function renderSessions(now) {
  const selected = state.filter.sessionId;
  ui.allSessions.setAttribute("aria-pressed", String(!selected));
  const groups = sessionsByMachine(state.store, now);
  const nodes = [];
  const seen = new Set();
  for (const group of groups) {
    const items = group.sessions.map((session) => {
      seen.add(session.sessionId);
      const active = isActive(session, now);
      const badge = active ? "active" : session.ended ? "ended" : "idle";
      const meta = `${session.count} events · ${formatAgo(session.last, now)}`;
      const sig = [session.project, badge, meta, session.failures, session.permissions, session.sessionId === selected].join("|");
      const cached = state.sessionNodes.get(session.sessionId);
      if (cached && cached.sig === sig) return cached.node;
      const node = el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            className: `session${active ? " active" : ""}`,
            dataset: { sessionId: session.sessionId },
            "aria-pressed": String(session.sessionId === selected),
            title: `Session ${session.sessionId}${session.user ? ` (${session.user})` : ""}`,
          },
          el("span", { className: "session-head" },
            el("span", { className: "project", text: session.project || "unknown project" }),
            el("span", { className: `badge badge-${badge}`, text: badge }),
          ),
          el("span", { className: "session-id", text: shortId(session.sessionId) }),
          el("span", { className: "session-meta" },
            meta,
            session.failures ? el("span", { className: "count-failure", text: ` · ${session.failures} failed` }) : null,
            session.permissions ? el("span", { className: "count-permission", text: ` · ${session.permissions} permission` }) : null,
          ),
        ),
      );
      state.sessionNodes.set(session.sessionId, { sig, node });
      return node;
    });
    const key = `machine:${group.machine}`;
    const sig = items.length;
    let cached = state.sessionNodes.get(key);
    if (!cached || cached.sig !== sig) {
      const list = el("ul", { className: "session-items" });
      const node = el("div", { className: "machine", dataset: { machine: group.machine } }, el("h3", { text: group.machine }), list);
      cached = { sig, node, list };
      state.sessionNodes.set(key, cached);
    }
    syncChildren(cached.list, items);
    nodes.push(cached.node);
    seen.add(key);
  }
  for (const key of state.sessionNodes.keys()) if (!seen.has(key)) state.sessionNodes.delete(key);
  syncChildren(ui.sessionList, nodes);
  if (!nodes.length) syncChildren(ui.sessionList, [el("p", { className: "empty", text: "No sessions yet." })]);
}

function durationOf(record, now) {
  if (!record.toolUseId || !(record.name === TOOL_START || TOOL_ENDS.has(record.name))) return { text: "", title: "" };
  const pair = state.store.pairs.get(record.toolUseId);
  if (pair?.ms !== null && pair?.ms !== undefined) {
    return { text: formatDuration(pair.ms), title: `${pair.start.name} → ${pair.end.name}, tool_use_id ${record.toolUseId}` };
  }
  if (record.name === TOOL_START) {
    return now - record.ms < RUNNING_MS ? { text: "running…", title: "no PostToolUse yet" } : { text: "no result", title: "no PostToolUse seen" };
  }
  return { text: "", title: "its PreToolUse is not loaded" };
}

function renderStream(shown, now) {
  const visible = shown.slice(0, MAX_ROWS);
  const keep = new Set();
  const rows = visible.map((record) => {
    keep.add(record.id);
    const duration = durationOf(record, now);
    const selected = record.id === state.selectedId;
    const sig = `${duration.text}|${selected}`;
    const cached = state.rows.get(record.id);
    if (cached && cached.sig === sig && cached.event === record.event) return cached.node;
    const classes = ["event-row"];
    if (record.failure) classes.push("failure");
    if (record.permission) classes.push("permission");
    if (selected) classes.push("selected");
    const node = el(
      "tr",
      { className: classes.join(" "), dataset: { eventId: record.id, event: record.name, sessionId: record.sessionId, tool: record.tool }, tabindex: "0", "aria-selected": String(selected) },
      el("td", { className: "time", text: formatTime(record.ms, now), title: typeof record.event.timestamp === "string" ? record.event.timestamp : "" }),
      el("td", { className: "name" }, el("span", { className: "event-name", text: record.name })),
      el("td", { className: "tool", text: record.tool }),
      el("td", { className: "summary", text: summary(record) }, record.truncated ? el("span", { className: "tag", text: "truncated" }) : null),
      el("td", { className: `duration${duration.text === "running…" ? " running" : ""}`, text: duration.text, title: duration.title }),
      el("td", { className: "session-cell", title: record.sessionId },
        el("span", { className: "project", text: record.project || "—" }),
        " ",
        el("span", { className: "session-id", text: shortId(record.sessionId) }),
      ),
      el("td", { className: "machine-cell", text: record.machine || "—" }),
    );
    state.rows.set(record.id, { sig, node, event: record.event });
    return node;
  });
  for (const id of state.rows.keys()) if (!keep.has(id)) state.rows.delete(id);
  syncChildren(ui.streamBody, rows);
  const total = state.store.size;
  let info;
  if (!total) info = "No events yet: they appear here as Claude Code sends them.";
  else if (!shown.length) info = `No event matches the filters (${total} kept).`;
  else if (shown.length > visible.length) info = `Newest ${visible.length} of ${shown.length} matching events (${total} kept).`;
  else info = `${shown.length} of ${total} events.`;
  setText(ui.streamInfo, info);
  ui.clearFilters.hidden = !(state.filter.sessionId || state.filter.event || state.filter.tool || state.filter.text || state.filter.attention);
}

function renderDetail() {
  const record = state.selectedId ? state.store.get(state.selectedId) : null;
  if (!record) {
    if (state.selectedId) closeDetail();
    return;
  }
  ui.detail.hidden = false;
  document.body.classList.add("with-detail");
  setText(ui.detailTitle, `${record.name}${record.tool ? ` · ${record.tool}` : ""}`);
  const fetched = state.detailFetch.get(record.id);
  let note = "";
  if (record.truncated) {
    if (fetched === "loading" || fetched === undefined) note = "Arrived truncated: fetching the full event over HTTP…";
    else if (fetched === "stored-truncated") note = "Truncated when it was stored: this is all there is.";
    else if (fetched === "missing") note = "Arrived truncated, and the full event is no longer stored.";
    else note = fetched;
  } else if (fetched === "full") {
    note = "Arrived truncated; this is the full event, fetched over HTTP.";
  }
  setText(ui.detailNote, note);
  ui.detailNote.hidden = !note;
  const pair = record.toolUseId ? state.store.pairs.get(record.toolUseId) : null;
  const partner = pair ? (record === pair.start ? pair.end : record === pair.end ? pair.start : null) : null;
  const pairNodes = [];
  if (pair?.ms !== null && pair?.ms !== undefined) pairNodes.push(`${record.tool || "Tool"} took ${formatDuration(pair.ms)}. `);
  if (partner) {
    pairNodes.push(el("button", { type: "button", className: "link", dataset: { eventId: partner.id }, text: `Show its ${partner.name}` }));
  }
  ui.detailPair.replaceChildren(...pairNodes);
  ui.detailPair.hidden = !pairNodes.length;
  ui.detailSession.dataset.sessionId = record.sessionId;
  ui.detailSession.hidden = state.filter.sessionId === record.sessionId;
  const text = JSON.stringify(record.event, null, 2);
  if (ui.detailJson.textContent !== text) ui.detailJson.textContent = text;
}

// Wiring -----------------------------------------------------------------------------------

ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = ui.tokenInput.value.trim();
  if (!token) return;
  ui.tokenInput.value = "";
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token lasts as long as the page
  }
  start(token);
});

ui.signout.addEventListener("click", () => signOut(""));
ui.alertRetry.addEventListener("click", () => {
  if (!state.token) return;
  if (state.live) state.live.reconnectNow();
  else {
    clearTimeout(state.historyTimer);
    loadHistory(state.generation);
  }
});
ui.filters.addEventListener("submit", (event) => event.preventDefault());
ui.filterEvent.addEventListener("change", readFilters);
ui.filterTool.addEventListener("change", readFilters);
ui.filterAttention.addEventListener("change", readFilters);
ui.filterText.addEventListener("input", readFilters);
ui.clearFilters.addEventListener("click", () => {
  ui.filterEvent.value = "";
  ui.filterTool.value = "";
  ui.filterText.value = "";
  ui.filterAttention.checked = false;
  state.filter.sessionId = "";
  selectSession("");
  readFilters();
});
ui.allSessions.addEventListener("click", () => selectSession(""));
ui.sessionList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-session-id]");
  if (button) selectSession(button.dataset.sessionId === state.filter.sessionId ? "" : button.dataset.sessionId);
});
ui.streamBody.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-event-id]");
  if (row) selectEvent(row.dataset.eventId);
});
ui.streamBody.addEventListener("keydown", (event) => {
  const row = event.target.closest("tr[data-event-id]");
  if (row && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    selectEvent(row.dataset.eventId);
  }
});
ui.detailClose.addEventListener("click", () => {
  closeDetail();
  scheduleRender();
});
ui.detailPair.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-event-id]");
  if (button) selectEvent(button.dataset.eventId);
});
ui.detailSession.addEventListener("click", () => selectSession(ui.detailSession.dataset.sessionId ?? ""));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && state.selectedId) {
    closeDetail();
    scheduleRender();
  }
});
window.addEventListener("hashchange", () => {
  readHash();
  if (state.filter.sessionId) loadSession(state.filter.sessionId);
  scheduleRender();
});
window.addEventListener("resize", scheduleRender);
setInterval(scheduleRender, TICK_MS);

setText($("api-base"), apiBase().href);
let saved = null;
try {
  saved = localStorage.getItem(TOKEN_KEY);
} catch {
  saved = null;
}
if (saved) start(saved);
else showLogin();
