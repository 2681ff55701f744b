// Live activity of a community: its page, its announcements page and its documents page.
// Plain ES2020, no build step, loaded with `defer` after socket.js (the tab's one WebSocket).
//
// The pages work without this file: everything on them is rendered by the server, and the
// "Live activity" section stays hidden. This follows the community's stream `community:<id>`
// (docs/realtime-protocol.md) from the seq the page was rendered at (`data-seq`), and:
// - lists what happens in a polite live region, newest first, at most MAX_ENTRIES entries:
//   on the community page everything (threads, documents, announcements), on the
//   announcements and documents pages what that page lists;
// - on the announcements page (first page only, `data-rows`), puts a newly published or
//   promoted announcement on top, updates an edited one in place, and marks a retracted
//   or expired one and takes its link away;
// - on the documents page (first page, unfiltered, newest first: `data-rows`), adds,
//   updates and removes rows; elsewhere it offers to reload the list.
// socket.js replays what a reconnect missed and never applies an event twice; a card or
// row already on the page (rendered after the seq was read) is updated, never added twice.
// Event data is put on the page only through textContent and DOM properties.
(() => {
  "use strict";

  const root = document.getElementById("community-live");
  const live = window.workspaceSocket;
  if (!root || !live) return;

  const MAX_ENTRIES = 20;
  const communityId = Number(root.dataset.community);
  const stream = `community:${communityId}`;
  const pageKind = root.dataset.page || "community";
  const rowsLive = root.dataset.rows === "true";

  const list = document.getElementById("live-activity");
  const empty = document.getElementById("live-empty");
  const statusLine = document.getElementById("live-status");
  const announcements = pageKind === "announcements" ? document.getElementById("announcements") : null;
  const documentRows = pageKind === "documents" ? document.getElementById("document-rows") : null;

  let stopped = false;
  const titles = { announcement: new Map(), document: new Map() }; // id -> title, to name id-only events

  for (const card of document.querySelectorAll("[data-announcement]")) {
    const link = card.querySelector("h3 a");
    if (link) titles.announcement.set(Number(card.dataset.announcement), link.textContent.trim());
  }
  for (const row of document.querySelectorAll("[data-document]")) {
    const link = row.querySelector("th a");
    if (link) titles.document.set(Number(row.dataset.document), link.textContent.trim());
  }

  // --- Formatting -------------------------------------------------------------------------

  function formatter(options) {
    try {
      return new Intl.DateTimeFormat("en-US", { ...options, timeZone: root.dataset.timeZone || undefined });
    } catch {
      return new Intl.DateTimeFormat("en-US", options);
    }
  }

  const clock = formatter({ hour: "numeric", minute: "2-digit" });
  const day = formatter({ month: "short", day: "numeric", year: "numeric" });
  const dayAndTime = formatter({ month: "short", day: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

  function parse(iso) {
    const date = iso ? new Date(iso) : new Date();
    return Number.isNaN(date.getTime()) ? new Date() : date;
  }

  function timeElement(iso, format) {
    const date = parse(iso);
    const time = document.createElement("time");
    time.dateTime = date.toISOString();
    time.textContent = format.format(date).replace(/\s?AM$/, " a.m.").replace(/\s?PM$/, " p.m.");
    return time;
  }

  // "Mar 3, 2026 14:05", as the server writes it on cards.
  function cardTime(iso) {
    const time = timeElement(iso, dayAndTime);
    const parts = dayAndTime.formatToParts(parse(iso));
    const get = (type) => (parts.find((p) => p.type === type) || {}).value || "";
    time.textContent = `${get("month")} ${get("day")}, ${get("year")} ${get("hour")}:${get("minute")}`;
    return time;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function link(href, text) {
    const a = element("a", "", text);
    a.href = safeUrl(href);
    return a;
  }

  function safeUrl(href) {
    // Event URLs are internal paths; anything else is not followed.
    return typeof href === "string" && href.startsWith("/") && !href.startsWith("//") ? href : "#";
  }

  function text(value) {
    return typeof value === "string" ? value : "";
  }

  // --- The live region ----------------------------------------------------------------------

  function setStatus(state) {
    if (stopped && state !== "revoked") return;
    const words = {
      connecting: "Connecting for live updates…",
      live: "Live: what happens in this community appears here as it happens.",
      offline: "Reconnecting… What you see may be out of date.",
      ended: "Live updates stopped. Reload the page.",
      revoked: "You no longer have access to this community's activity.",
    }[state];
    if (!words) return;
    statusLine.textContent = words;
    statusLine.className = state === "offline" || state === "ended" || state === "revoked" ? `live-status is-${state}` : "live-status";
  }

  function reloadButton() {
    const button = element("button", "button small secondary", "Reload to see the updated list");
    button.type = "button";
    button.addEventListener("click", () => window.location.reload());
    return button;
  }

  // parts: strings, {href, text} for a link, or a Node.
  function addEntry(when, parts, { reload = false } = {}) {
    const li = document.createElement("li");
    li.append(timeElement(when, clock));
    for (const part of parts) {
      if (part instanceof Node) li.append(part);
      else if (typeof part === "string") li.append(document.createTextNode(part));
      else if (part && part.href) {
        const anchor = link(part.href, part.text);
        if (part.key) anchor.dataset.key = part.key;
        li.append(anchor);
      }
      else if (part) li.append(document.createTextNode(part.text));
    }
    if (reload) li.append(reloadButton());
    list.prepend(li);
    while (list.children.length > MAX_ENTRIES) list.lastElementChild.remove();
    if (empty) empty.hidden = true;
  }

  function titlePart(title, url, key) {
    return url ? { href: url, text: title, key } : { text: `“${title}”` };
  }

  function unlinkEntries(key) {
    // A retracted or removed item's links in earlier entries would lead nowhere now.
    for (const anchor of list.querySelectorAll("a[data-key]")) {
      if (anchor.dataset.key === key) anchor.replaceWith(document.createTextNode(anchor.textContent));
    }
  }

  // --- Announcements ------------------------------------------------------------------------

  function buildCard(data) {
    const id = Number(data.id);
    const card = element("article", "announcement-card is-live-new");
    card.id = `announcement-${id}`;
    card.dataset.announcement = String(id);
    card.setAttribute("aria-labelledby", `announcement-${id}-title`);

    const byline = element("p", "byline");
    byline.append(element("span", "agency", text(data.agency_name) || text(data.agency)), " · ");
    byline.append(element("span", "program", text(data.program)));
    if (data.community !== undefined && Number(data.community) !== communityId) {
      byline.append(" ", element("span", "badge", "Promoted"));
    }
    if (data.audience && data.audience !== "public") byline.append(" ", element("span", "badge", "Members only"));

    const heading = element("h3");
    heading.id = `announcement-${id}-title`;
    heading.append(link(data.url, text(data.title)));
    card.append(byline, heading);
    if (text(data.summary)) card.append(element("p", "", data.summary));

    const when = element("p", "muted small", "Published ");
    when.append(cardTime(data.published_at));
    if (data.edited_at) when.append(" · updated ", cardTime(data.edited_at));
    if (data.expire_at) when.append(" · until ", cardTime(data.expire_at));
    card.append(when);
    return card;
  }

  function placeCard(data, kind) {
    if (!announcements) return;
    const existing = document.getElementById(`announcement-${Number(data.id)}`);
    if (existing) {
      const focused = existing.contains(document.activeElement);
      const card = buildCard(data);
      existing.replaceWith(card);
      if (focused) card.querySelector("h3 a").focus();
      return;
    }
    if (kind !== "announcement.published" || !rowsLive) return;
    const heading = announcements.querySelector("h2");
    const first = announcements.querySelector("[data-announcement]");
    const card = buildCard(data);
    if (first) first.before(card);
    else if (heading) heading.after(card);
    else announcements.prepend(card);
    const none = announcements.querySelector(":scope > .empty");
    if (none) none.remove();
  }

  function takeDownCard(id, label) {
    const card = announcements ? document.getElementById(`announcement-${id}`) : null;
    if (!card || card.dataset.takenDown) return;
    card.dataset.takenDown = "true";
    const heading = card.querySelector("h3");
    const anchor = heading ? heading.querySelector("a") : null;
    const focused = card.contains(document.activeElement);
    if (anchor) anchor.replaceWith(document.createTextNode(anchor.textContent));
    if (heading) heading.append(" ", element("span", "badge", label));
    if (focused && heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  function onAnnouncement(kind, data) {
    const id = Number(data.id);
    const known = titles.announcement.get(id);
    if (data.title) titles.announcement.set(id, text(data.title));
    if (kind === "announcement.published") {
      const promoted = data.community !== undefined && Number(data.community) !== communityId;
      placeCard(data, kind);
      addEntry(data.published_at, [
        promoted ? "Announcement promoted here from " : "New announcement from ",
        `${text(data.agency)} (${text(data.program)}): `,
        titlePart(text(data.title), data.url, `announcement:${id}`),
      ], { reload: pageKind === "announcements" && !rowsLive });
    } else if (kind === "announcement.edited") {
      placeCard(data, kind);
      addEntry(data.edited_at, ["Announcement updated: ", titlePart(text(data.title), data.url, `announcement:${id}`)]);
    } else if (kind === "announcement.retracted" || kind === "announcement.expired") {
      const retracted = kind === "announcement.retracted";
      takeDownCard(id, retracted ? "Retracted" : "Expired");
      unlinkEntries(`announcement:${id}`);
      const title = known || text(data.title);
      const what = retracted ? "retracted" : "expired";
      addEntry(null, title ? [`Announcement ${what}: “${title}”`] : [`An announcement was ${what}.`]);
    }
  }

  // --- Documents ----------------------------------------------------------------------------

  function fillRow(row, data) {
    const anchor = row.querySelector("th a");
    if (anchor) {
      anchor.textContent = text(data.title);
      anchor.href = safeUrl(data.url);
    }
    const cells = row.querySelectorAll("td");
    if (cells.length < 4) return;
    cells[0].textContent = text(data.agency);
    cells[1].textContent = text(data.type);
    cells[2].replaceChildren();
    if (data.version) {
      cells[2].append(String(data.version));
      if (text(data.uploaded_by)) cells[2].append(element("br"), element("span", "muted small", data.uploaded_by));
    }
    cells[3].replaceChildren(timeElement(data.updated_at, day));
  }

  function buildRow(data) {
    const id = Number(data.id);
    const row = element("tr", "is-live-new");
    row.id = `document-${id}`;
    row.dataset.document = String(id);
    const head = element("th");
    head.scope = "row";
    head.append(link(data.url, text(data.title)));
    if (data.restricted) head.append(" ", element("span", "badge", "Restricted"));
    if (data.community !== undefined && Number(data.community) !== communityId) {
      head.append(" ", element("span", "badge", `Shared from ${text(data.community_name) || "another community"}`));
    }
    row.append(head, element("td"), element("td"), element("td"), element("td"));
    fillRow(row, data);
    return row;
  }

  function placeRow(data, kind) {
    // True when the list now shows the change.
    if (!documentRows) return false;
    const existing = document.getElementById(`document-${Number(data.id)}`);
    if (existing) {
      if (data.title) fillRow(existing, data);
      if (kind === "document.revised" && rowsLive && documentRows.firstElementChild !== existing) {
        const focused = existing.contains(document.activeElement) ? document.activeElement : null;
        documentRows.prepend(existing); // the list is newest first
        if (focused) focused.focus();
      }
      return true;
    }
    if (!rowsLive || !data.title || (kind !== "document.added" && kind !== "document.shared")) return false;
    documentRows.prepend(buildRow(data));
    return true;
  }

  function removeRow(id) {
    const row = documentRows ? document.getElementById(`document-${id}`) : null;
    if (!row) return;
    if (row.contains(document.activeElement)) {
      const region = row.closest("[role=region]");
      if (region) region.focus();
    }
    row.remove();
  }

  function markRow(id, label) {
    const row = documentRows ? document.getElementById(`document-${id}`) : null;
    const head = row ? row.querySelector("th") : null;
    if (!head || row.dataset.marked) return;
    row.dataset.marked = "true";
    head.append(" ", element("span", "badge", label));
  }

  function onDocument(kind, data) {
    const id = Number(data.id);
    const known = titles.document.get(id);
    const title = text(data.title) || known || "";
    if (data.title) titles.document.set(id, text(data.title));
    const named = title ? titlePart(title, data.url, `document:${id}`) : null;
    if (kind === "document.removed") {
      if (data.reason === "restricted") {
        // Narrowed to some agencies: this reader may or may not be one of them.
        markRow(id, "Access changed");
        addEntry(null, [
          known ? `Access to “${known}” was narrowed to some agencies.` : "A document was narrowed to some agencies.",
        ], { reload: pageKind === "documents" });
      } else {
        removeRow(id);
        unlinkEntries(`document:${id}`);
        addEntry(null, [known ? `Document removed: “${known}”` : "A document was removed."]);
      }
      return;
    }
    const shown = placeRow(data, kind);
    const reload = pageKind === "documents" && !shown;
    if (kind === "document.added") {
      addEntry(data.updated_at, [`Document added by ${text(data.agency)}: `, named], { reload });
    } else if (kind === "document.revised") {
      addEntry(data.updated_at, [`Version ${Number(data.version) || ""} of `, named, " uploaded"], { reload });
    } else if (kind === "document.updated") {
      addEntry(null, ["Document renamed: ", named], { reload });
    } else if (kind === "document.shared") {
      if (data.with) {
        addEntry(null, named ? [named, ` is now shared with ${text(data.with)}`] : [`A document is now shared with ${text(data.with)}.`]);
      } else {
        addEntry(null, ["Document shared into this community: ", named], { reload });
      }
    }
  }

  // --- Threads ------------------------------------------------------------------------------

  function onThread(kind, data) {
    const thread = data.thread || {};
    if (kind === "thread.removed") {
      // Narrowed to some agencies: no title, and this reader may or may not be one of them.
      addEntry(null, ["A thread was narrowed to some agencies."]);
      return;
    }
    const title = text(thread.title);
    if (!title) return;
    const named = titlePart(title, thread.url);
    if (kind === "thread.created") addEntry(null, ["New thread: ", named]);
    else if (kind === "thread.updated") addEntry(null, ["Thread updated: ", named]);
  }

  // --- The stream ---------------------------------------------------------------------------

  function onEvent(kind, data) {
    if (stopped) return;
    if (kind.startsWith("announcement.")) {
      if (pageKind === "community" || pageKind === "announcements") onAnnouncement(kind, data);
    } else if (kind.startsWith("document.")) {
      if (pageKind === "community" || pageKind === "documents") onDocument(kind, data.document || {});
    } else if (kind.startsWith("thread.")) {
      if (pageKind === "community") onThread(kind, data);
    }
  }

  live.on("status", (state) => setStatus(state));
  live.follow(stream, {
    since: Number(root.dataset.seq) || 0,
    onSubscribed() {
      setStatus("live");
    },
    onEvent,
    onResync() {
      // The log no longer holds everything missed: the page is the fresh state.
      addEntry(null, ["Some activity could not be shown while the connection was lost."], { reload: true });
    },
    onRevoked() {
      stopped = true;
      setStatus("revoked");
    },
  });
  root.hidden = false;
  setStatus(live.status === "live" ? "connecting" : live.status);
})();
