// The tab's WebSocket, shared by the page's live scripts (alerts.js on every page, page
// scripts such as incident.js). Plain ES2020, no build step, loaded with `defer` before them.
//
// window.workspaceSocket:
//   follow(stream, {since, onEvent(kind, data, frame), onSubscribed(frame), onResync(seq), onRevoked()})
//       keeps the last seq per stream and, on every (re)connect, subscribes with `since`, so no
//       event is lost; events already applied (seq <= last) are dropped, so none is applied twice;
//       a gap makes it resubscribe. Without `since` it starts from the stream's current seq.
//   request(frame, callback)  sends a frame with a fresh `ref`; the answer (or error) is passed to
//       callback. Returns false when not connected (the caller falls back to the form post).
//   on(type, handler)  frames without a stream ("presence", "typing") and "status" changes:
//       "connecting", "live", "offline", "ended" (signed out: no reconnecting).
//   status  the current one.
// The wire protocol is docs/realtime-protocol.md.
(() => {
  "use strict";

  if (window.workspaceSocket || !("WebSocket" in window)) return;

  const MIN_DELAY = 1000;
  const MAX_DELAY = 30000;
  const PING_EVERY = 25000;
  const PONG_WITHIN = 10000;
  const REPLY_WITHIN = 8000;

  const follows = new Map(); // stream -> {seq, options, catchingUp}
  const listeners = new Map(); // type -> Set of handlers
  const replies = new Map(); // ref -> {callback, timer}
  let socket = null;
  let greeted = false;
  let stopped = false;
  let started = false;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let counter = 0;
  let status = "connecting";

  function emit(type, payload) {
    for (const handler of listeners.get(type) || []) {
      try {
        handler(payload);
      } catch (error) {
        window.console.error(error);
      }
    }
  }

  function setStatus(next) {
    if (status === next) return;
    status = next;
    emit("status", next);
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN || !greeted) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function subscribe(stream, entry) {
    const frame = { type: "subscribe", stream, ref: `subscribe:${stream}` };
    if (entry.seq !== null) frame.since = entry.seq;
    send(frame);
  }

  function call(entry, name, ...args) {
    const handler = entry.options[name];
    if (typeof handler !== "function") return;
    try {
      handler(...args);
    } catch (error) {
      window.console.error(error);
    }
  }

  function onEvent(frame) {
    const entry = follows.get(frame.stream);
    if (!entry || entry.seq === null || frame.seq <= entry.seq) return; // not followed, or already applied
    if (frame.seq > entry.seq + 1) {
      // A gap: ask for everything after the last seq applied; the replay brings it in order.
      if (!entry.catchingUp) {
        entry.catchingUp = true;
        subscribe(frame.stream, entry);
      }
      return;
    }
    entry.seq = frame.seq;
    call(entry, "onEvent", frame.event, frame.data || {}, frame);
  }

  function answer(frame) {
    const waiting = replies.get(frame.ref);
    if (!waiting) return false;
    replies.delete(frame.ref);
    window.clearTimeout(waiting.timer);
    waiting.callback(frame);
    return true;
  }

  function handle(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    const entry = typeof frame.stream === "string" ? follows.get(frame.stream) : undefined;
    switch (frame.type) {
      case "hello":
        greeted = true;
        attempt = 0;
        for (const [stream, followed] of follows) subscribe(stream, followed);
        setStatus("live");
        break;
      case "subscribed":
        if (!entry) break;
        entry.catchingUp = false;
        if (entry.seq === null) entry.seq = frame.seq;
        call(entry, "onSubscribed", frame);
        break;
      case "event":
        onEvent(frame);
        break;
      case "resync":
        // The log no longer holds what was missed: the follower reloads its state.
        if (!entry) break;
        entry.seq = frame.seq;
        entry.catchingUp = false;
        call(entry, "onResync", frame.seq);
        break;
      case "revoked":
        if (!entry) break;
        follows.delete(frame.stream);
        call(entry, "onRevoked");
        break;
      case "signed_out":
        end();
        break;
      case "pong":
        window.clearTimeout(pongTimer);
        pongTimer = null;
        break;
      case "error":
        if (answer(frame)) break;
        if (typeof frame.ref === "string" && frame.ref.startsWith("subscribe:")) {
          const stream = frame.ref.slice("subscribe:".length);
          const refused = follows.get(stream);
          if (refused && frame.code === "not_found") {
            follows.delete(stream);
            call(refused, "onRevoked");
          }
          break;
        }
        if (frame.code === "signed_out") end();
        emit("error", frame);
        break;
      default:
        if (frame.ref !== undefined && answer(frame)) break;
        emit(frame.type, frame);
        break;
    }
  }

  function connect() {
    retryTimer = null;
    if (stopped) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${window.location.host}/ws/`);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    greeted = false;
    ws.addEventListener("message", (event) => {
      if (socket === ws) handle(event.data);
    });
    ws.addEventListener("close", (event) => {
      if (socket === ws) onClose(event.code);
    });
  }

  function detach() {
    const ws = socket;
    socket = null;
    greeted = false;
    window.clearTimeout(pongTimer);
    pongTimer = null;
    for (const entry of follows.values()) entry.catchingUp = false;
    for (const [ref, waiting] of replies) {
      window.clearTimeout(waiting.timer);
      replies.delete(ref);
      waiting.callback({ type: "error", code: "disconnected", ref, message: "The connection was lost." });
    }
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
  }

  function onClose(code) {
    const wasGreeted = greeted;
    detach();
    if (stopped) return;
    if (code === 4401 || code === 4001) {
      end();
      return;
    }
    setStatus("offline");
    if (!wasGreeted) {
      probe();
      return;
    }
    scheduleReconnect();
  }

  function probe() {
    // A refused handshake reaches the browser without its reason: ask whether the session
    // still holds (signed out answers with a redirect to sign in), else it was the network.
    window
      .fetch(window.location.pathname, { credentials: "same-origin", redirect: "manual", cache: "no-store" })
      .then((response) => {
        if (response.type === "opaqueredirect") end();
        else scheduleReconnect();
      })
      .catch(() => scheduleReconnect());
  }

  function scheduleReconnect() {
    if (stopped || retryTimer) return;
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** attempt);
    const delay = Math.min(MAX_DELAY, base * (0.75 + Math.random() * 0.5)); // jitter: no herd after an outage
    attempt += 1;
    retryTimer = window.setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (stopped || socket || !started) return;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    connect();
  }

  function keepAlive() {
    // A socket on a dead network can stay "open" for minutes: no pong in time, reconnect.
    if (!greeted || pongTimer) return;
    if (send({ type: "ping" })) {
      pongTimer = window.setTimeout(() => {
        pongTimer = null;
        if (socket) onClose(1006);
      }, PONG_WITHIN);
    }
  }

  function stop() {
    stopped = true;
    window.clearTimeout(retryTimer);
    retryTimer = null;
    window.clearInterval(pingTimer);
    detach();
  }

  function end() {
    stop();
    setStatus("ended");
  }

  function start() {
    if (started) return;
    started = true;
    pingTimer = window.setInterval(keepAlive, PING_EVERY);
    connect();
  }

  window.addEventListener("online", reconnectNow);
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted || !started || status === "ended") return;
    // Back from the back-forward cache: pick up from the seqs we had.
    stopped = false;
    pingTimer = window.setInterval(keepAlive, PING_EVERY);
    reconnectNow();
  });

  window.workspaceSocket = {
    follow(stream, options = {}) {
      const since = Number.isInteger(options.since) && options.since >= 0 ? options.since : null;
      const entry = { seq: since, options, catchingUp: false };
      follows.set(stream, entry);
      if (greeted) subscribe(stream, entry);
      start();
    },
    unfollow(stream) {
      if (follows.delete(stream)) send({ type: "unsubscribe", stream });
    },
    request(frame, callback) {
      counter += 1;
      const ref = `request:${counter}`;
      if (!send({ ...frame, ref })) return false;
      const timer = window.setTimeout(() => {
        replies.delete(ref);
        callback({ type: "error", code: "timeout", ref, message: "No answer in time." });
      }, REPLY_WITHIN);
      replies.set(ref, { callback, timer });
      return true;
    },
    send,
    on(type, handler) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(handler);
    },
    get status() {
      return status;
    },
  };
})();
