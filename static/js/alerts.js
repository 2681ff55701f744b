// The urgent-alert banner on every page. Plain ES2020, no build step, loaded with `defer`
// after socket.js.
//
// The page renders the person's unacknowledged alerts and the seq of their own stream
// (`user:<id>`) at that moment; this subscribes from that seq, so an alert sent since is
// replayed, then arrives live: `alert.sent` adds it to the banner, `alert.acknowledged`
// (from this tab, another tab or another device) removes it.
//
// Acknowledging works without this file (a form post). With a live socket it is an `ack`
// frame instead, so the person stays where they are; any form with `data-ack-alert` on the
// page (the banner's, the incident page's) is handled the same way. Other scripts hear of
// acknowledgements through the `workspace:alert-acknowledged` event on `document`.
(() => {
  "use strict";

  const banner = document.getElementById("alert-banner");
  const live = window.workspaceSocket;
  if (!banner || !live) return;

  const me = Number(banner.dataset.user);
  const since = Number(banner.dataset.seq);
  const incidentsUrl = banner.dataset.incidentsUrl;
  const template = document.getElementById("alert-banner-template");

  const timeFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
  }

  function item(id) {
    return banner.querySelector(`.alert-item[data-alert="${id}"]`);
  }

  function show(data) {
    if (item(data.id) || !template) return;
    const node = template.content.firstElementChild.cloneNode(true);
    const incidentUrl = `${incidentsUrl}${data.incident.id}/`;
    node.dataset.alert = String(data.id);
    const link = node.querySelector(".alert-heading a");
    link.href = incidentUrl;
    link.textContent = data.incident.name;
    node.querySelector(".alert-sender").textContent = data.sent_by.name;
    const time = node.querySelector("time");
    time.dateTime = data.sent_at;
    time.textContent = formatTime(data.sent_at);
    // `html` was rendered from Markdown and sanitized on the server (messaging.markup) when
    // the alert was written; everything else is set as text.
    node.querySelector(".alert-body").innerHTML = data.html;
    const form = node.querySelector("form");
    form.action = `${incidentUrl}alerts/${data.id}/acknowledge/`;
    form.dataset.ackAlert = String(data.id);
    form.querySelector("input[name=next]").value = window.location.pathname + window.location.search;
    node.querySelector(".alert-incident-name").textContent = data.incident.name;
    banner.hidden = false;
    banner.prepend(node); // newest first; inserted whole, so screen readers announce it
  }

  function acknowledged(id, at) {
    const node = item(id);
    if (node) node.remove();
    if (!banner.querySelector(".alert-item")) banner.hidden = true;
    document.dispatchEvent(new CustomEvent("workspace:alert-acknowledged", { detail: { alert: id, at } }));
  }

  live.follow(`user:${me}`, {
    since: Number.isInteger(since) ? since : undefined,
    onEvent(kind, data) {
      if (kind === "alert.sent") {
        show(data);
        document.dispatchEvent(new CustomEvent("workspace:alert-received", { detail: { alert: data.id } }));
      }
      else if (kind === "alert.acknowledged") acknowledged(Number(data.alert), null);
    },
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.ackAlert) return;
    const id = Number(form.dataset.ackAlert);
    const button = form.querySelector("button");
    const sent = live.request({ type: "ack", alert: id }, (reply) => {
      if (reply.type === "acknowledged") {
        acknowledged(id, reply.at);
        return;
      }
      // Refused or no answer: the ordinary form post says why, or does it.
      form.submit();
    });
    if (!sent) return; // not connected: the ordinary form post
    event.preventDefault();
    if (button) button.disabled = true;
  });
})();
