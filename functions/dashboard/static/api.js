// The HTTP API: GET /api/claude-events with `Authorization: Bearer <token>`.
// Its base is where the page is: http://127.0.0.1:3000/ locally, https://…/<stage>/ in AWS.

export const REQUEST_TIMEOUT_MS = 15_000;
export const PAGE_LIMIT = 1000;

export class ApiError extends Error {
  /** kind: "unauthorized" (401), "forbidden" (403), "unreachable" (no answer), "http" (any other status) */
  constructor(kind, status, message) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
  }

  get isTokenProblem() {
    return this.kind === "unauthorized" || this.kind === "forbidden";
  }
}

export function apiBase(pageUrl = window.location.href) {
  const base = new URL(".", pageUrl);
  base.search = "";
  base.hash = "";
  return base;
}

export function eventsUrl(params = {}, base = apiBase()) {
  const url = new URL("api/claude-events", base);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, String(value));
  }
  return url;
}

async function messageOf(response) {
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // not JSON: the status says enough
  }
  return response.statusText || `HTTP ${response.status}`;
}

/** One GET of history: {events, count, nextCursor}. Throws ApiError. */
export async function getEvents(token, params = {}) {
  const url = eventsUrl(params);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
      signal: controller.signal,
    });
  } catch (error) {
    const why = error && error.name === "AbortError" ? "no answer in time" : "network error";
    throw new ApiError("unreachable", 0, `cannot reach the API at ${apiBase().href} (${why})`);
  } finally {
    clearTimeout(timer);
  }
  if (response.status === 401) {
    throw new ApiError("unauthorized", 401, "the API refused this token (401 Unauthorized): it is unknown, revoked or mistyped");
  }
  if (response.status === 403) {
    throw new ApiError("forbidden", 403, "this token may not read events (403 Forbidden): it needs the read scope");
  }
  if (!response.ok) {
    throw new ApiError("http", response.status, `the API answered ${response.status}: ${await messageOf(response)}`);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError("http", response.status, "the API answered something that is not JSON");
  }
  return {
    events: Array.isArray(body?.events) ? body.events : [],
    nextCursor: typeof body?.nextCursor === "string" ? body.nextCursor : null,
  };
}

/** The newest events (up to PAGE_LIMIT), optionally of one session or since a time. */
export function getHistory(token, { sessionId, since } = {}) {
  return getEvents(token, { limit: PAGE_LIMIT, sessionId, since });
}

/**
 * The full copy of an event that arrived truncated: the event's own session, name and timestamp
 * (since inclusive, until exclusive, one millisecond later), picked by eventId. Null if it is gone.
 */
export async function getFullEvent(token, event) {
  const at = Date.parse(event.timestamp);
  if (!Number.isFinite(at)) return null;
  const { events } = await getEvents(token, {
    sessionId: event.sessionId,
    event: event.event,
    since: event.timestamp,
    until: new Date(at + 1).toISOString(),
    limit: PAGE_LIMIT,
  });
  return events.find((candidate) => candidate && candidate.eventId === event.eventId) ?? null;
}
