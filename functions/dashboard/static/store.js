// The events the page knows: de-duplicated by eventId, sorted by time, bounded in number.
// Everything here is plain data; nothing touches the DOM. Events come from the network and are
// untrusted: every field is checked for its type before use.

export const MAX_EVENTS = 5000;
export const FAILURE_EVENTS = new Set(["PostToolUseFailure", "StopFailure", "PermissionDenied"]);
export const PERMISSION_EVENTS = new Set(["PermissionRequest"]);
export const TOOL_START = "PreToolUse";
export const TOOL_ENDS = new Set(["PostToolUse", "PostToolUseFailure"]);
// A session is "active" while its last event is this recent and it has not ended.
export const ACTIVE_MS = 10 * 60_000;

const str = (value) => (typeof value === "string" ? value : "");
const obj = (value) => (value !== null && typeof value === "object" && !Array.isArray(value) ? value : {});

function parseTime(text) {
  const ms = Date.parse(str(text));
  return Number.isFinite(ms) ? ms : 0;
}

// Sub-millisecond digits (the service keeps microseconds when the client sent them) order events
// that share a millisecond.
function subMillis(text) {
  const match = /\.\d{3}(\d+)/.exec(str(text));
  return match ? Number(`0.${match[1]}`) : 0;
}

/** One stored event with what the views need, computed once. */
export class Record {
  constructor(event) {
    this.event = event;
    this.id = event.eventId;
    this.ms = parseTime(event.timestamp) || parseTime(event.receivedAt);
    this.order = this.ms + subMillis(event.timestamp);
    const data = obj(event.data);
    const source = obj(event.source);
    this.name = str(event.event);
    this.sessionId = str(event.sessionId);
    this.tool = str(data.tool_name);
    this.toolUseId = str(data.tool_use_id);
    this.machine = str(source.machine);
    this.project = str(source.project);
    this.user = str(source.user);
    this.truncated = event.truncated === true;
    this.failure = FAILURE_EVENTS.has(this.name);
    this.permission = PERMISSION_EVENTS.has(this.name);
    this._haystack = null;
  }

  /** Lower-cased text that search looks in: names, ids, source and the whole payload. */
  get haystack() {
    if (this._haystack === null) {
      let payload = "";
      try {
        payload = JSON.stringify(this.event.data ?? {});
      } catch {
        payload = "";
      }
      this._haystack = [this.name, this.tool, this.sessionId, this.machine, this.project, this.user, payload.slice(0, 50_000)]
        .join("\n")
        .toLowerCase();
    }
    return this._haystack;
  }
}

function newerFirst(a, b) {
  if (a.order !== b.order) return b.order - a.order;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function isEvent(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.eventId === "string" &&
    value.eventId !== "" &&
    typeof value.sessionId === "string" &&
    typeof value.event === "string"
  );
}

export class EventStore {
  constructor(max = MAX_EVENTS) {
    this.max = max;
    this.byId = new Map();
    this.list = []; // newest first
    this.version = 0; // bumped on every change, so views know when to redraw
    this._derived = null;
  }

  get size() {
    return this.byId.size;
  }

  get(id) {
    return this.byId.get(id);
  }

  newest() {
    return this.list[0];
  }

  /** Merge events (from history or live messages); returns how many were added or improved. */
  merge(events) {
    let changed = 0;
    for (const event of Array.isArray(events) ? events : []) {
      if (!isEvent(event)) continue;
      const known = this.byId.get(event.eventId);
      if (known) {
        // Keep the copy without `truncated` (the full one) when the two differ.
        if (known.truncated && event.truncated !== true) {
          const record = new Record(event);
          this.byId.set(record.id, record);
          const index = this.list.indexOf(known);
          if (index >= 0) this.list.splice(index, 1);
          this._insert(record);
          changed += 1;
        }
        continue;
      }
      const record = new Record(event);
      // Full: an event older than everything kept would be dropped at once.
      if (this.list.length >= this.max && newerFirst(record, this.list[this.list.length - 1]) > 0) continue;
      this.byId.set(record.id, record);
      this._insert(record);
      changed += 1;
    }
    while (this.list.length > this.max) {
      const oldest = this.list.pop();
      this.byId.delete(oldest.id);
    }
    if (changed) {
      this.version += 1;
      this._derived = null;
    }
    return changed;
  }

  _insert(record) {
    // Binary search: live events land near the front, history near the back.
    let low = 0;
    let high = this.list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (newerFirst(this.list[mid], record) <= 0) low = mid + 1;
      else high = mid;
    }
    this.list.splice(low, 0, record);
  }

  /** Tool calls by tool_use_id: {start, end, ms} (ms: the tool's duration, once both are known). */
  get pairs() {
    return this._derive().pairs;
  }

  get sessions() {
    return this._derive().sessions;
  }

  get eventNames() {
    return this._derive().eventNames;
  }

  get tools() {
    return this._derive().tools;
  }

  _derive() {
    if (this._derived) return this._derived;
    const pairs = new Map();
    const sessions = new Map();
    const eventNames = new Set();
    const tools = new Set();
    // Oldest first, so "last" means newest.
    for (let i = this.list.length - 1; i >= 0; i -= 1) {
      const record = this.list[i];
      eventNames.add(record.name);
      if (record.tool) tools.add(record.tool);
      if (record.toolUseId && (record.name === TOOL_START || TOOL_ENDS.has(record.name))) {
        const pair = pairs.get(record.toolUseId) ?? { start: null, end: null, ms: null };
        if (record.name === TOOL_START) pair.start = record;
        else pair.end = record;
        if (pair.start && pair.end) pair.ms = Math.max(0, pair.end.order - pair.start.order);
        pairs.set(record.toolUseId, pair);
      }
      let session = sessions.get(record.sessionId);
      if (!session) {
        session = {
          sessionId: record.sessionId,
          machine: "",
          project: "",
          user: "",
          first: record.ms,
          last: record.ms,
          count: 0,
          failures: 0,
          permissions: 0,
          ended: false,
          lastEvent: "",
        };
        sessions.set(record.sessionId, session);
      }
      session.count += 1;
      session.last = Math.max(session.last, record.ms);
      session.lastEvent = record.name;
      session.ended = record.name === "SessionEnd";
      if (record.machine) session.machine = record.machine;
      if (record.project) session.project = record.project;
      if (record.user) session.user = record.user;
      if (record.failure) session.failures += 1;
      if (record.permission) session.permissions += 1;
    }
    this._derived = {
      pairs,
      sessions,
      eventNames: [...eventNames].sort(),
      tools: [...tools].sort(),
    };
    return this._derived;
  }
}

export function isActive(session, now = Date.now()) {
  return !session.ended && now - session.last < ACTIVE_MS;
}

/** Sessions grouped by machine: [{machine, sessions}], active first then most recent. */
export function sessionsByMachine(store, now = Date.now()) {
  const groups = new Map();
  for (const session of store.sessions.values()) {
    const machine = session.machine || "unknown machine";
    if (!groups.has(machine)) groups.set(machine, []);
    groups.get(machine).push(session);
  }
  const order = (a, b) => Number(isActive(b, now)) - Number(isActive(a, now)) || b.last - a.last;
  return [...groups.entries()]
    .map(([machine, sessions]) => ({ machine, sessions: sessions.sort(order), last: Math.max(...sessions.map((s) => s.last)) }))
    .sort((a, b) => b.last - a.last || (a.machine < b.machine ? -1 : 1));
}

/** A filter: {sessionId, event, tool, text, attention}; empty fields match everything. */
export function matches(record, filter) {
  if (filter.sessionId && record.sessionId !== filter.sessionId) return false;
  if (filter.event && record.name !== filter.event) return false;
  if (filter.tool && record.tool !== filter.tool) return false;
  if (filter.attention && !(record.failure || record.permission)) return false;
  if (filter.text) {
    const words = filter.text.toLowerCase().split(/\s+/).filter(Boolean);
    const haystack = record.haystack;
    if (!words.every((word) => haystack.includes(word))) return false;
  }
  return true;
}

/** Events per minute over the last `minutes` minutes: [{start, total, failures, permissions}]. */
export function perMinute(records, now = Date.now(), minutes = 30) {
  const end = Math.floor(now / 60_000) * 60_000 + 60_000;
  const start = end - minutes * 60_000;
  const buckets = Array.from({ length: minutes }, (_, i) => ({ start: start + i * 60_000, total: 0, failures: 0, permissions: 0 }));
  for (const record of records) {
    if (record.ms < start || record.ms >= end) continue;
    const bucket = buckets[Math.floor((record.ms - start) / 60_000)];
    bucket.total += 1;
    if (record.failure) bucket.failures += 1;
    if (record.permission) bucket.permissions += 1;
  }
  return buckets;
}

// Fields every hook event carries: never the point of a one-line summary.
const CONTEXT_FIELDS = new Set(["cwd", "transcript_path", "hook_event_name", "session_id", "permission_mode", "tool_use_id"]);

function short(value, length = 160) {
  const text = String(value).replace(/\s+/g, " ").trim();
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** A one-line description of what the event is about (plain text; the caller renders it as text). */
export function summary(record) {
  const data = obj(record.event.data);
  const input = obj(data.tool_input);
  const pick = (...values) => values.find((value) => typeof value === "string" && value.trim() !== "");
  let text;
  switch (record.name) {
    case "UserPromptSubmit":
      text = pick(data.prompt);
      break;
    case "Notification":
      text = pick(data.message, data.title);
      break;
    case "SessionStart":
      text = pick(data.source, data.model);
      break;
    case "SessionEnd":
    case "Stop":
    case "SubagentStop":
      text = pick(data.reason, data.error, data.last_assistant_message);
      break;
    case "StopFailure":
      text = pick(data.error, data.reason, data.message);
      break;
    default:
      text = pick(
        record.name.endsWith("Failure") || record.name === "PermissionDenied" ? data.error ?? data.reason : undefined,
        input.command,
        input.file_path,
        input.path,
        input.pattern,
        input.url,
        input.query,
        input.description,
        input.prompt,
        data.message,
        data.reason,
        data.prompt,
      );
  }
  if (text === undefined) {
    // Any short string of the payload, else nothing.
    const values = Object.entries(data)
      .filter(([key, value]) => !CONTEXT_FIELDS.has(key) && typeof value === "string" && value.length < 300)
      .map(([, value]) => value);
    text = pick(...values) ?? "";
  }
  return short(text);
}
