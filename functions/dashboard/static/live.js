// The WebSocket: wss://…/<stage>?token=… (browsers cannot set headers on a WebSocket).
// Reconnects with exponential backoff and jitter; see docs/websocket-protocol.md.

export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 30_000;
export const STABLE_MS = 60_000; // open this long: the next drop starts the backoff again
export const HISTORY_CHECK_MS = 5_000; // no history by then: ask for it
export const KEEPALIVE_MS = 9 * 60_000; // API Gateway closes a connection idle for 10 minutes
export const RENEW_MS = 110 * 60_000; // … and every connection after 2 hours

const LIVE_TYPES = new Set(["claude:events:history", "claude:event", "claude:events"]);

/**
 * new LiveStream({url, token, onEvents(events, {history}), onState(state, detail), onRefused()})
 * states: "connecting", "open", "waiting" (detail: {delayMs}), "stopped".
 * onRefused: the socket closed before it ever opened (refused handshake, or nothing listening);
 * a browser does not say which, so the caller finds out (over HTTP) and calls retry() or stop().
 */
export class LiveStream {
  constructor({ url, token, onEvents, onState, onRefused, onError }) {
    this.url = url;
    this.token = token;
    this.onEvents = onEvents;
    this.onState = onState ?? (() => {});
    this.onRefused = onRefused ?? (() => this.retry());
    this.onError = onError ?? (() => {});
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.timers = new Set();
    this.openedAt = 0;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this._open();
  }

  stop() {
    this.stopped = true;
    this._clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
    this.onState("stopped", {});
  }

  /** Reconnect after the backoff delay (after a drop, or when the caller decided to keep trying). */
  retry() {
    if (this.stopped) return;
    const base = Math.min(FIRST_DELAY_MS * 2 ** this.attempt, MAX_DELAY_MS);
    const delayMs = Math.round(base * (0.5 + Math.random()));
    this.attempt += 1;
    this.onState("waiting", { delayMs, attempt: this.attempt });
    this._later(() => this._open(), delayMs);
  }

  /** Reconnect now (e.g. the user pressed "retry"). */
  reconnectNow() {
    if (this.stopped) return;
    this._clearTimers();
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
    this._open();
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  _later(fn, ms) {
    const id = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, ms);
    this.timers.add(id);
    return id;
  }

  _clearTimers() {
    for (const id of this.timers) {
      clearTimeout(id);
      clearInterval(id);
    }
    this.timers.clear();
  }

  _open() {
    if (this.stopped) return;
    this._clearTimers();
    const url = new URL(this.url);
    url.searchParams.set("token", this.token);
    let ws;
    try {
      ws = new WebSocket(url.href);
    } catch {
      this.onError("the WebSocket URL is not valid");
      this.stop();
      return;
    }
    this.ws = ws;
    let opened = false;
    let gotHistory = false;
    this.onState("connecting", {});

    ws.onopen = () => {
      opened = true;
      this.openedAt = Date.now();
      this.onState("open", {});
      this._later(() => {
        if (!gotHistory) this.send({ action: "history" });
      }, HISTORY_CHECK_MS);
      const keepAlive = setInterval(() => this.send({ action: "subscribe" }), KEEPALIVE_MS);
      this.timers.add(keepAlive);
      // Before API Gateway's two-hour limit: reconnect now; history and de-duplication cover the gap.
      this._later(() => this.reconnectNow(), RENEW_MS);
    };

    ws.onmessage = ({ data }) => {
      let message;
      try {
        message = JSON.parse(data);
      } catch {
        return;
      }
      if (!message || typeof message !== "object") return;
      if (message.type === "claude:error") {
        const text = typeof message.message === "string" ? message.message : "error";
        if (text.includes("reconnect")) ws.close();
        else this.onError(text);
        return;
      }
      if (!LIVE_TYPES.has(message.type)) return; // claude:subscribed, or a type this client does not know
      const history = message.type === "claude:events:history";
      if (history) gotHistory = true;
      const events = message.type === "claude:event" ? [message.event] : message.events;
      if (Array.isArray(events)) this.onEvents(events, { history });
    };

    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this._clearTimers();
      if (this.stopped) return;
      if (!opened) {
        this.onRefused();
        return;
      }
      if (Date.now() - this.openedAt >= STABLE_MS) this.attempt = 0;
      this.retry();
    };
  }
}
