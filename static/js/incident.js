// Live updates for the incident page. Plain ES2020, no build step, loaded with `defer`
// after socket.js and alerts.js.
//
// The page works without this file: everything is rendered by the server and every
// change is an ordinary form. This adds, over the tab's one socket (socket.js):
// - the incident's stream `incident:<id>` from the seq the page was rendered at: new
//   alerts, the acknowledgement roll-up of each (replaced whole from the event, which the
//   server counted from the receipts), escalations, board entries and their changes, and
//   the incident's status;
// - the channel's stream `thread:<thread id>`, only for its presence frames: who has the
//   incident open now, by agency.
(() => {
  "use strict";

  const root = document.getElementById("incident");
  const live = window.workspaceSocket;
  if (!root || !live) return;

  const incidentId = Number(root.dataset.incident);
  const threadId = Number(root.dataset.thread);
  const me = Number(root.dataset.user);
  const myAgency = Number(root.dataset.agency) || null;
  const mayBoard = root.dataset.mayBoard === "true";
  const mayCoordinate = root.dataset.mayCoordinate === "true";
  const boardFirstPage = root.dataset.boardFirstPage === "true";
  const incidentUrl = root.dataset.url;
  const kindLabels = JSON.parse(root.dataset.kindLabels || "{}");
  const stateLabels = JSON.parse(root.dataset.stateLabels || "{}");
  const statusLabels = { active: "Active", monitoring: "Monitoring", closed: "Closed" };

  const statusLine = document.getElementById("live-status");
  const announcer = document.getElementById("announcer");
  const alertList = document.getElementById("alert-list");
  const alertsEmpty = document.getElementById("alerts-empty");
  const alertTemplate = document.getElementById("alert-template");
  const boardList = document.getElementById("board-list");
  const boardEmpty = document.getElementById("board-empty");
  const entryTemplate = document.getElementById("board-entry-template");
  const roster = document.getElementById("roster");
  const rosterNote = document.getElementById("roster-note");

  // alert id -> Map(agency id -> escalated_at): the roll-up in an event does not carry them.
  const escalations = new Map();
  const present = new Map(); // user id -> {name, agency}
  const received = new Set(); // alerts sent to this person (from their own stream, via alerts.js)

  const dateTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

  function format(iso, formatter = dateTime) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : formatter.format(date);
  }

  function timeElement(iso, formatter) {
    const time = document.createElement("time");
    time.dateTime = iso;
    time.textContent = format(iso, formatter);
    return time;
  }

  function announce(text) {
    // Cleared first, so the same words twice are announced twice.
    announcer.textContent = "";
    window.setTimeout(() => {
      announcer.textContent = text;
    }, 100);
  }

  function setStatus(state) {
    const text = {
      connecting: "Connecting for live updates…",
      live: "Live: alerts, acknowledgements and the board update as they happen.",
      offline: "Reconnecting… What you see may be out of date.",
      ended: "Live updates stopped. Reload the page.",
    }[state];
    if (!text) return;
    statusLine.textContent = text;
    statusLine.className = state === "live" ? "live-status" : `live-status is-${state}`;
  }

  // --- Alerts and roll-ups ------------------------------------------------------------------

  function alertCard(id) {
    return document.getElementById(`alert-${id}`);
  }

  function readEscalations(card) {
    const found = new Map();
    for (const row of card.querySelectorAll(".rollup-agency[data-escalated]")) {
      found.set(Number(row.dataset.agency), row.dataset.escalated);
    }
    escalations.set(Number(card.dataset.alert), found);
  }

  function renderRollup(card, rollup) {
    const escalated = escalations.get(rollup.alert) || new Map();
    const summary = document.createElement("p");
    summary.className = "rollup-summary";
    const strong = document.createElement("strong");
    strong.textContent = `${rollup.agencies_done} of ${rollup.agencies_total} agencies`;
    summary.append(strong, `, ${rollup.people_acknowledged} of ${rollup.people_total} people acknowledged`);
    const list = document.createElement("ul");
    list.className = "rollup-agencies";
    for (const row of rollup.agencies) {
      const li = document.createElement("li");
      const at = escalated.get(row.agency);
      li.className = `rollup-agency ${row.done ? "is-done" : at ? "is-escalated" : "is-waiting"}`;
      li.dataset.agency = String(row.agency);
      if (at) li.dataset.escalated = at;
      const name = document.createElement("span");
      name.className = "rollup-name";
      name.textContent = row.short_name;
      const count = document.createElement("span");
      count.className = "rollup-count";
      count.textContent = `${row.acknowledged} of ${row.people} ${row.people === 1 ? "person" : "people"}`;
      const state = document.createElement("span");
      state.className = "rollup-state";
      if (row.done) {
        state.append("Acknowledged");
        if (row.first_ack) state.append(" ", timeElement(row.first_ack, clock));
      } else if (at) {
        state.append("Escalated ", timeElement(at, clock));
      } else {
        state.append("Waiting");
      }
      li.append(name, count, state);
      list.append(li);
    }
    if (!rollup.agencies.length) {
      const li = document.createElement("li");
      li.className = "rollup-agency";
      li.textContent = "Nobody else was there to alert.";
      list.append(li);
    }
    card.querySelector(".rollup").replaceChildren(summary, list);
  }

  function onAlertSent(data) {
    if (alertCard(data.id)) return;
    const card = alertTemplate.content.firstElementChild.cloneNode(true);
    card.id = `alert-${data.id}`;
    card.dataset.alert = String(data.id);
    const title = card.querySelector(".alert-card-title");
    title.id = `alert-${data.id}-title`;
    card.setAttribute("aria-labelledby", title.id);
    for (const sender of card.querySelectorAll(".alert-card-sender")) sender.textContent = data.sent_by.name;
    const time = title.querySelector("time");
    time.dateTime = data.sent_at;
    time.textContent = format(data.sent_at);
    // Sanitized on the server when the alert was written (messaging.markup).
    card.querySelector(".alert-card-body").innerHTML = data.html;
    // Only the recipients acknowledge: the sender is not one. Anyone else who was is told
    // by their own stream, whose banner then carries the alert too.
    const mine = card.querySelector(".alert-mine");
    if (data.sent_by.id === me) {
      mine.replaceChildren();
    } else {
      const form = mine.querySelector("form");
      form.action = `${incidentUrl}alerts/${data.id}/acknowledge/`;
      form.dataset.ackAlert = String(data.id);
      mine.hidden = !received.has(data.id); // shown once this person's own stream says it is theirs
    }
    escalations.set(data.id, new Map());
    renderRollup(card, data.rollup);
    alertList.prepend(card);
    alertsEmpty.hidden = true;
    announce(`New alert from ${data.sent_by.name}.`);
  }

  function onAcknowledged(data) {
    const card = alertCard(data.alert);
    if (!card) return;
    const doneBefore = new Set(
      Array.from(card.querySelectorAll(".rollup-agency.is-done"), (row) => Number(row.dataset.agency)),
    );
    renderRollup(card, data.rollup);
    if (data.user === me) markMine(data.alert, null);
    const newly = data.rollup.agencies.find((row) => row.done && !doneBefore.has(row.agency));
    if (newly) {
      announce(`${newly.short_name} acknowledged. ${data.rollup.agencies_done} of ${data.rollup.agencies_total} agencies.`);
    }
  }

  function onEscalated(data) {
    const card = alertCard(data.alert);
    if (!card) return;
    const at = new Date().toISOString();
    if (!escalations.has(data.alert)) escalations.set(data.alert, new Map());
    escalations.get(data.alert).set(data.agency, at);
    const row = card.querySelector(`.rollup-agency[data-agency="${data.agency}"]`);
    if (!row || row.classList.contains("is-done")) return;
    row.className = "rollup-agency is-escalated";
    row.dataset.escalated = at;
    row.querySelector(".rollup-state").replaceChildren("Escalated ", timeElement(at, clock));
    announce(`No acknowledgement from ${row.querySelector(".rollup-name").textContent}: escalated to its admins.`);
  }

  function markMine(alertId, at) {
    const card = alertCard(alertId);
    if (!card) return;
    const mine = card.querySelector(".alert-mine");
    if (!mine || !mine.querySelector("form")) return;
    const done = document.createElement("p");
    done.className = "acknowledged";
    done.append("You acknowledged", at ? " at " : ".");
    if (at) done.append(timeElement(at, clock), ".");
    mine.replaceChildren(done);
    mine.hidden = false;
  }

  // This person's own stream (followed by alerts.js) tells which alerts are theirs.
  document.addEventListener("workspace:alert-received", (event) => {
    received.add(event.detail.alert);
    const card = alertCard(event.detail.alert);
    const mine = card ? card.querySelector(".alert-mine") : null;
    if (mine && mine.querySelector("form")) mine.hidden = false;
  });
  document.addEventListener("workspace:alert-acknowledged", (event) => {
    markMine(event.detail.alert, event.detail.at);
  });

  // --- The board ------------------------------------------------------------------------------

  function entryElement(id) {
    return document.getElementById(`entry-${id}`);
  }

  function fillEntry(li, data) {
    li.className = `board-entry kind-${data.kind}`;
    li.querySelector(".badge").textContent = kindLabels[data.kind] || data.kind;
    li.querySelector(".entry-agency").textContent = data.agency.short_name;
    li.querySelector(".entry-author").textContent = data.author.name;
    const state = li.querySelector(".entry-state");
    if (data.state) {
      const badge = document.createElement("span");
      badge.className = `state state-${data.state}`;
      badge.textContent = stateLabels[data.state] || data.state;
      state.replaceChildren(badge);
    } else {
      state.replaceChildren();
    }
    const text = li.querySelector(".entry-text");
    text.replaceChildren();
    data.text.split("\n").forEach((line, index) => {
      if (index) text.append(document.createElement("br"));
      text.append(line);
    });
    const created = li.querySelector(".entry-created");
    created.dateTime = data.created_at;
    created.textContent = format(data.created_at);
    const updated = li.querySelector(".entry-updated");
    const updatedTime = updated.querySelector("time");
    updatedTime.dateTime = data.updated_at;
    updatedTime.textContent = format(data.updated_at);
    updated.hidden = data.updated_at.slice(0, 19) === data.created_at.slice(0, 19); // same second
    const textarea = li.querySelector("textarea[name=text]");
    if (textarea && document.activeElement !== textarea) textarea.value = data.text;
    const select = li.querySelector("select[name=state]");
    if (select && data.state && document.activeElement !== select) select.value = data.state;
  }

  function onBoardAdded(data) {
    if (entryElement(data.id) || !boardFirstPage) return;
    const li = entryTemplate.content.firstElementChild.cloneNode(true);
    li.id = `entry-${data.id}`;
    li.dataset.entry = String(data.id);
    const mayEdit = mayBoard && (mayCoordinate || (myAgency !== null && data.agency.id === myAgency));
    const edit = li.querySelector(".entry-edit");
    if (mayEdit) {
      edit.querySelector("form").action = `${incidentUrl}board/${data.id}/`;
      edit.querySelector(".entry-for").textContent = data.agency.short_name;
      for (const [name, suffix] of [
        ["text", "text"],
        ["state", "state"],
      ]) {
        const control = edit.querySelector(`[name=${name}]`);
        control.id = `entry-${data.id}-${suffix}`;
        control.closest(".field").querySelector("label").htmlFor = control.id;
      }
      if (data.kind !== "request") edit.querySelector(".entry-state-field").remove();
    } else {
      edit.remove();
    }
    fillEntry(li, data);
    boardList.prepend(li);
    boardEmpty.hidden = true;
    announce(`On the board, from ${data.agency.short_name}: ${kindLabels[data.kind] || data.kind}.`);
  }

  function onBoardUpdated(data) {
    const li = entryElement(data.id);
    if (li) fillEntry(li, data);
  }

  function onStatus(data) {
    const label = statusLabels[data.status] || data.status;
    const badge = document.getElementById("incident-status");
    badge.textContent = label;
    badge.className = `status status-${data.status}`;
    document.getElementById("incident-status-fact").textContent = label;
    const select = document.getElementById("id_status");
    if (select && document.activeElement !== select) select.value = data.status;
    announce(`The incident is now ${label.toLowerCase()}.`);
  }

  // --- Who is here ------------------------------------------------------------------------------

  function renderRoster() {
    const byAgency = new Map();
    const people = [{ name: `${root.dataset.userName} (you)`, agency: root.dataset.userAgency }, ...present.values()];
    for (const person of people) {
      const agency = person.agency || "No agency";
      if (!byAgency.has(agency)) byAgency.set(agency, []);
      byAgency.get(agency).push(person.name);
    }
    const groups = Array.from(byAgency.keys())
      .sort((a, b) => a.localeCompare(b))
      .map((agency) => {
        const group = document.createElement("div");
        group.className = "roster-group";
        const heading = document.createElement("p");
        heading.className = "roster-agency";
        const names = byAgency.get(agency).sort((a, b) => a.localeCompare(b));
        heading.textContent = `${agency} (${names.length})`;
        const list = document.createElement("ul");
        list.className = "people";
        for (const name of names) {
          const li = document.createElement("li");
          li.textContent = name;
          list.append(li);
        }
        group.append(heading, list);
        return group;
      });
    roster.replaceChildren(...groups);
  }

  live.on("presence", (frame) => {
    if (frame.thread !== threadId || frame.user === me) return;
    if (frame.state === "here") present.set(frame.user, { name: frame.name, agency: frame.agency });
    else present.delete(frame.user);
    renderRoster();
  });

  // --- Wiring -------------------------------------------------------------------------------------

  for (const card of alertList.querySelectorAll(".alert-card")) readEscalations(card);
  setStatus(live.status);
  live.on("status", (state) => {
    setStatus(state);
    if (state !== "live") {
      // Whoever is here answers again after the reconnect.
      present.clear();
      rosterNote.textContent = state === "ended" ? "Not connected." : "Reconnecting…";
      roster.replaceChildren(rosterNote);
    }
  });

  live.follow(`incident:${incidentId}`, {
    since: Number(root.dataset.seq),
    onEvent(kind, data) {
      if (kind === "alert.sent") onAlertSent(data);
      else if (kind === "alert.acknowledged") onAcknowledged(data);
      else if (kind === "alert.escalated") onEscalated(data);
      else if (kind === "board.added") onBoardAdded(data);
      else if (kind === "board.updated") onBoardUpdated(data);
      else if (kind === "incident.status") onStatus(data);
    },
    onResync() {
      window.location.reload();
    },
    onRevoked() {
      setStatus("ended");
      statusLine.textContent = "You no longer have access to this incident.";
    },
  });
  // Following the channel announces this person as here and brings the roster; messages
  // themselves are read on the channel's page.
  live.follow(`thread:${threadId}`, {
    onSubscribed() {
      renderRoster();
    },
  });
})();
