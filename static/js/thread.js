// Live updates for the thread page. Plain ES2020, no build step, loaded with `defer`
// after socket.js (the tab's one WebSocket, shared by every live script of the page).
//
// The page works without this file: messages are rendered by the server, posting is an
// ordinary form. This adds, over the tab's socket (docs/realtime-protocol.md): messages,
// edits, deletions and reactions of others as they happen; posting and reacting over the
// socket while it is connected; "X is typing…"; a visible connection status.
//
// Delivery: the page was rendered at `data-seq`; socket.js subscribes with `since` = the
// last seq applied on every (re)connect and drops what was already applied, and this file
// also drops a message it already shows (by id), so a message is never lost and never
// shown twice. A post carries a client_id and is resent after a reconnect until the
// server answers `posted`; the server stores it once whatever the number of tries.
(() => {
  "use strict";

  const root = document.getElementById("thread");
  const live = window.workspaceSocket;
  if (!root || !live || root.dataset.live !== "true") return;

  const TYPING_EVERY = 3000;
  const TYPING_SHOWN = 6000;

  const threadId = Number(root.dataset.thread);
  const stream = `thread:${threadId}`;
  const me = Number(root.dataset.user);
  const mayPost = root.dataset.mayPost === "true";
  const mayModerate = root.dataset.mayModerate === "true";
  const threadUrl = root.dataset.threadUrl;
  const loginUrl = root.dataset.loginUrl;
  const reactionNames = JSON.parse(root.dataset.reactionNames || "{}");
  const reactionOrder = Object.keys(reactionNames);

  const list = document.getElementById("message-list");
  const template = document.getElementById("message-template");
  const statusLine = document.getElementById("live-status");
  const announcer = document.getElementById("announcer");
  const typingLine = document.getElementById("typing");
  const composer = document.getElementById("composer");
  const form = document.getElementById("composer-form");
  const body = form ? form.querySelector("textarea[name=body]") : null;
  const clientIdField = form ? form.querySelector("input[name=client_id]") : null;
  const replyField = form ? form.querySelector("input[name=reply_to]") : null;
  const replying = document.getElementById("replying");
  const replyingText = document.getElementById("replying-text");
  const composerError = document.getElementById("composer-error");

  let subscribed = false; // subscribed on the current connection: posting goes over the socket
  let stopped = false; // revoked or signed out
  let lastTypingSent = 0;
  const pending = new Map(); // client_id -> post frame, until the server answers "posted"
  const typers = new Map(); // user id -> {label, timer}

  // --- Small helpers --------------------------------------------------------------------

  function setStatus(text, kind) {
    if (statusLine.textContent !== text) statusLine.textContent = text;
    statusLine.className = kind ? `live-status is-${kind}` : "live-status";
  }

  function announce(text) {
    // Cleared first, so the same words twice are announced twice.
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = text;
    }, 100);
  }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  // Written like the server writes it ("May 2, 2:03 p.m."), in the site's time zone.
  let timeFormat;
  try {
    timeFormat = new Intl.DateTimeFormat("en-US", {
      month: "short",
      day: "numeric",
      hour: "numeric",
      minute: "2-digit",
      timeZone: root.dataset.timeZone || undefined,
    });
  } catch {
    timeFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  }

  function formatTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return timeFormat.format(date).replace(/\s?AM$/, " a.m.").replace(/\s?PM$/, " p.m.");
  }

  function messageElement(id) {
    return document.getElementById(`message-${id}`);
  }

  function messageUrl(id, action) {
    return `${threadUrl}messages/${id}/${action}/`;
  }

  // --- Rendering events -----------------------------------------------------------------

  function showDeleted(li) {
    li.classList.add("is-deleted");
    const note = document.createElement("p");
    note.className = "msg-deleted";
    note.textContent = "This message was deleted.";
    li.querySelector(".msg-body").replaceChildren(note);
    const tools = li.querySelector(".msg-tools");
    if (tools) tools.remove();
  }

  function fillBody(li, data) {
    if (data.deleted) {
      showDeleted(li);
      return;
    }
    // `html` was rendered from Markdown and sanitized on the server (messaging.markup),
    // once, when the message was written; everything else is set as text.
    li.querySelector(".msg-body").innerHTML = data.html;
    li.querySelector(".msg-edited").hidden = !data.edited_at;
  }

  function buildMessage(data) {
    const li = template.content.firstElementChild.cloneNode(true);
    const name = data.author.name;
    li.id = `message-${data.id}`;
    li.dataset.message = String(data.id);
    li.dataset.author = String(data.author.id);
    li.querySelector(".msg-author").textContent = name;
    li.querySelector(".msg-agency").textContent = data.agency.short_name;
    const link = li.querySelector(".msg-time");
    link.href = `#message-${data.id}`;
    const time = link.querySelector("time");
    time.dateTime = data.created_at;
    time.textContent = formatTime(data.created_at);

    const reply = li.querySelector(".msg-reply");
    if (data.reply_to) {
      const anchor = reply.querySelector("a");
      const target = messageElement(data.reply_to);
      anchor.href = `#message-${data.reply_to}`;
      anchor.textContent = target
        ? `In reply to ${target.querySelector(".msg-author").textContent}`
        : "In reply to an earlier message";
      reply.hidden = false;
    } else {
      reply.remove();
    }

    li.querySelector("form.msg-reactions").action = messageUrl(data.id, "react");
    const summaryFor = li.querySelector("summary .msg-for");
    if (summaryFor) summaryFor.textContent = ` to the message of ${name}`;
    const replyLink = li.querySelector(".msg-reply-link");
    if (replyLink) {
      replyLink.href = `${threadUrl}?reply_to=${data.id}#composer`;
      replyLink.querySelector(".msg-for").textContent = ` to ${name}`;
    }
    const mine = data.author.id === me;
    const edit = li.querySelector(".msg-edit-item");
    if (mine && mayPost) edit.querySelector("a").href = messageUrl(data.id, "edit");
    else edit.remove();
    const del = li.querySelector(".msg-delete-item");
    if (mine || mayModerate) {
      const a = del.querySelector("a");
      a.href = messageUrl(data.id, "delete");
      a.querySelector(".msg-for").textContent = ` the message of ${name}`;
    } else {
      del.remove();
    }
    const actions = li.querySelector(".msg-actions");
    if (!actions.children.length) actions.remove();

    fillBody(li, data);
    return li;
  }

  function onMessage(kind, data) {
    const existing = messageElement(data.id);
    if (existing) {
      // Already on the page (rendered by the server, or a replay): update, never add twice.
      if (kind !== "message.created" || data.deleted) fillBody(existing, data);
      return;
    }
    if (kind !== "message.created") return; // older than this page: not shown here
    list.appendChild(buildMessage(data));
    const empty = root.querySelector(".msg-list + .empty");
    if (empty) empty.remove();
    stopTyping(data.author.id);
    if (data.author.id !== me) announce(`New message from ${data.author.name} (${data.agency.short_name})`);
  }

  function reactionElement(emoji, count, mine) {
    const el = document.createElement(mayPost ? "button" : "span");
    el.className = mine ? "reaction is-mine" : "reaction";
    if (mayPost) {
      el.type = "submit";
      el.name = mine ? "remove" : "add";
      el.value = emoji;
      el.setAttribute("aria-pressed", mine ? "true" : "false");
    }
    const shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = `${emoji} ${count}`;
    const spoken = document.createElement("span");
    spoken.className = "visually-hidden";
    spoken.textContent = `${reactionNames[emoji] || emoji}, ${count}`;
    el.append(shown, spoken);
    return el;
  }

  function onReaction(data) {
    const li = messageElement(data.message);
    const holder = li ? li.querySelector(".reaction-counts") : null;
    if (!holder) return;
    const mine = new Set(
      Array.from(holder.querySelectorAll('[aria-pressed="true"], .is-mine'), (el) => el.value || ""),
    );
    if (data.user === me) {
      if (data.on) mine.add(data.emoji);
      else mine.delete(data.emoji);
    }
    const focused = holder.contains(document.activeElement) ? document.activeElement.value : null;
    const emojis = Object.keys(data.counts).sort((a, b) => {
      const rank = (e) => (reactionOrder.includes(e) ? reactionOrder.indexOf(e) : reactionOrder.length);
      return rank(a) - rank(b);
    });
    holder.replaceChildren(
      ...emojis.filter((e) => data.counts[e] > 0).map((e) => reactionElement(e, data.counts[e], mine.has(e))),
    );
    if (focused) {
      const again = Array.from(holder.querySelectorAll("button")).find((b) => b.value === focused);
      (again || li.querySelector(".reaction-picker summary") || li).focus();
    }
  }

  function onEvent(kind, data) {
    if (kind.startsWith("message.")) onMessage(kind, data);
    else if (kind === "reaction.changed") onReaction(data);
  }

  // --- Typing ---------------------------------------------------------------------------

  function renderTyping() {
    if (!typingLine) return;
    const names = Array.from(typers.values(), (t) => t.label);
    if (!names.length) typingLine.textContent = "";
    else if (names.length === 1) typingLine.textContent = `${names[0]} is typing…`;
    else if (names.length === 2) typingLine.textContent = `${names[0]} and ${names[1]} are typing…`;
    else typingLine.textContent = `${names.length} people are typing…`;
  }

  function stopTyping(userId) {
    const typer = typers.get(userId);
    if (!typer) return;
    window.clearTimeout(typer.timer);
    typers.delete(userId);
    renderTyping();
  }

  function onTyping(frame) {
    if (frame.thread !== threadId || frame.user === me) return;
    stopTyping(frame.user);
    const label = frame.agency ? `${frame.name} (${frame.agency})` : frame.name;
    typers.set(frame.user, { label, timer: window.setTimeout(() => stopTyping(frame.user), TYPING_SHOWN) });
    renderTyping();
  }

  // --- Posting --------------------------------------------------------------------------

  function setBusy(busy) {
    if (composer) composer.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showComposerError(text) {
    if (!composerError) return;
    composerError.textContent = text;
    composerError.hidden = !text;
  }

  function clearReply() {
    if (!replyField) return;
    replyField.value = "";
    replying.hidden = true;
    replyingText.textContent = "";
  }

  function onPostAnswer(frame, clientId) {
    if (!pending.has(clientId)) return; // a retry answered twice
    if (frame.type === "posted") {
      pending.delete(clientId);
      if (clientIdField.value === clientId) {
        body.value = "";
        clearReply();
        showComposerError("");
        clientIdField.value = newClientId(); // the next message is a new one
      }
    } else if (frame.code === "disconnected" || frame.code === "timeout") {
      return; // kept: sent again once subscribed after the reconnect
    } else {
      // Refused, so nothing was stored: the text stays in the box to correct.
      pending.delete(clientId);
      showComposerError(frame.message || "The message was not sent.");
      body.focus();
    }
    setBusy(pending.size > 0);
  }

  function sendPost(frame) {
    return live.request(frame, (answer) => onPostAnswer(answer, frame.client_id));
  }

  // --- The connection (socket.js) -------------------------------------------------------

  function showStatus(state) {
    if (stopped) return;
    if (state === "live" && subscribed) setStatus("Live: new messages appear here as they are posted.", "");
    else if (state === "offline") setStatus("Reconnecting… You can still send: the page will reload.", "offline");
    else if (state === "connecting" || state === "live") setStatus("Connecting…", "");
  }

  function stop() {
    stopped = true;
    subscribed = false;
    live.unfollow(stream);
    pending.clear();
    setBusy(false);
    for (const user of Array.from(typers.keys())) stopTyping(user);
  }

  function revoke() {
    stop();
    setStatus("You no longer have access to this thread.", "ended");
    if (composer) composer.hidden = true;
    for (const tools of root.querySelectorAll(".msg-tools")) tools.remove();
  }

  function toSignIn() {
    stop();
    const next = window.location.pathname + window.location.search;
    window.location.assign(`${loginUrl}?next=${encodeURIComponent(next)}`);
  }

  live.on("status", (state) => {
    if (state !== "live") subscribed = false;
    if (state === "ended") {
      if (!stopped) toSignIn(); // signed out, or the session ended: no reconnecting
      return;
    }
    if (state === "offline") setBusy(false);
    showStatus(state);
  });

  live.on("typing", onTyping);

  live.follow(stream, {
    since: Number(root.dataset.seq) || 0,
    onSubscribed() {
      if (stopped) return;
      const reconnected = !subscribed;
      subscribed = true;
      showStatus("live");
      if (reconnected) {
        for (const frame of pending.values()) sendPost(frame);
        setBusy(pending.size > 0);
      }
    },
    onEvent,
    onResync() {
      // The log no longer holds what was missed: the page itself is the fresh state.
      stopped = true;
      window.location.reload();
    },
    onRevoked: revoke,
  });
  showStatus(live.status);

  // --- Wiring ---------------------------------------------------------------------------

  if (form) {
    form.addEventListener("submit", (event) => {
      if (!subscribed) return; // not connected: the ordinary form post
      event.preventDefault();
      if (!body.value.trim()) {
        showComposerError("Write something first.");
        body.focus();
        return;
      }
      // The same id goes into the form, so a fallback form post of this text after a
      // lost connection is recognised as the same message.
      const clientId = newClientId();
      clientIdField.value = clientId;
      const frame = { type: "post", thread: threadId, body: body.value, client_id: clientId };
      const reply = Number(replyField.value);
      if (reply > 0) frame.reply_to = reply;
      pending.set(clientId, frame);
      showComposerError("");
      setBusy(true);
      sendPost(frame);
    });

    body.addEventListener("input", () => {
      if (!subscribed || !body.value.trim()) return;
      const now = Date.now();
      if (now - lastTypingSent < TYPING_EVERY) return;
      lastTypingSent = now;
      live.send({ type: "typing", thread: threadId });
    });

    document.getElementById("cancel-reply").addEventListener("click", (event) => {
      event.preventDefault();
      clearReply();
      body.focus();
    });
  }

  list.addEventListener("click", (event) => {
    const link = event.target.closest(".msg-reply-link");
    if (!link || !form) return;
    event.preventDefault();
    const li = link.closest(".msg");
    replyField.value = li.dataset.message;
    replyingText.textContent = `Replying to ${li.querySelector(".msg-author").textContent}`;
    replying.hidden = false;
    body.focus();
  });

  list.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (!subscribed || !button || !event.target.classList.contains("msg-reactions")) return;
    if (button.name !== "add" && button.name !== "remove") return;
    const li = event.target.closest(".msg");
    const frame = { type: "react", message: Number(li.dataset.message), emoji: button.value, on: button.name === "add" };
    const sent = live.request(frame, (answer) => {
      if (answer.type === "error" && answer.message) announce(answer.message);
    });
    if (!sent) return; // the ordinary form post
    event.preventDefault();
    const picker = li.querySelector(".reaction-picker");
    if (picker && picker.contains(button)) {
      picker.open = false;
      picker.querySelector("summary").focus();
    }
  });
})();
