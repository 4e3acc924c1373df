// slaops: keep server-rendered countdowns and SLA badges live, and show htmx toasts.
(function () {
  "use strict";
  function fmt(ms) {
    const past = ms < 0;
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60);
    const text = (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m";
    return past ? text + " overdue" : "in " + text;
  }
  // The SLA countdown of a row or a lead: "due in 1h 5m", then a red "⚠ late by 2m".
  function slaText(el, ms) {
    const late = ms <= 0;
    const text = fmt(ms).replace(/^in /, "").replace(/ overdue$/, "");
    el.textContent = "";
    if (late) {
      const icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "⚠ ";
      el.append(icon);
    }
    el.append(late ? "late by " + text : "due in " + text);
    el.classList.toggle("text-danger", late);
  }

  // What a status looks like: the same as templates/sla/_status_badge.html.
  const STATUS_LOOK = {
    breached: ["text-bg-danger", "⚠ ", "Breached"],
    at_risk: ["text-bg-warning", "◔ ", "At risk"],
    pending: ["text-bg-primary", "◷ ", "Pending"],
    met: ["text-bg-success", "✓ ", "Met"],
  };
  function badge(status) {
    const look = STATUS_LOOK[status];
    const el = document.createElement("span");
    el.className = "badge " + look[0];
    el.dataset.statusBadge = status;
    const icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = look[1];
    el.append(icon, look[2]);
    return el;
  }

  // The status a row has now, by the rule of sla/clocks.py `sla_status`: a running
  // clock past its due time is breached; an untouched lead past its at-risk time at risk.
  function statusNow(row, now) {
    const status = row.dataset.status;
    if (!(status in STATUS_LOOK) || status === "breached") { return status; }
    const due = Date.parse(row.dataset.dueAt || "");
    if (!isNaN(due) && now >= due) { return "breached"; }
    const risk = Date.parse(row.dataset.atRiskAt || "");
    if (status === "pending" && !isNaN(risk) && now >= risk) { return "at_risk"; }
    return status;
  }
  function bump(status, delta) {
    document.querySelectorAll('#inbox-counts [data-count="' + status + '"]').forEach(function (el) {
      const n = parseInt(el.textContent, 10);
      if (!isNaN(n)) { el.textContent = String(Math.max(0, n + delta)); }
    });
  }

  // Polling without eval (the Content-Security-Policy forbids it, so htmx's trigger filters
  // cannot run): an element with hx-trigger="slaops:poll" and data-poll="N" is sent the
  // event every N seconds while the tab is visible, and, with data-poll-while="idle", only
  // while none of its <details> (a row's form) is open. data-poll-on-return also sends it
  // at once when the tab comes back. A skipped turn waits for the next, as `every Ns [..]`.
  const POLL = "slaops:poll";
  const lastPoll = new WeakMap();
  function pollWanted(el) {
    if (document.visibilityState !== "visible") { return false; }
    return el.dataset.pollWhile !== "idle" || !el.querySelector("details[open]");
  }
  function poll() {
    const now = Date.now();
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      const every = parseFloat(el.dataset.poll) * 1000;
      if (!(every > 0)) { return; }
      if (!lastPoll.has(el)) { lastPoll.set(el, now); return; }
      if (now - lastPoll.get(el) < every) { return; }
      lastPoll.set(el, now);
      if (pollWanted(el)) { htmx.trigger(el, POLL); }
    });
  }
  document.addEventListener("visibilitychange", function () {
    document.querySelectorAll("[data-poll][data-poll-on-return]").forEach(function (el) {
      if (pollWanted(el)) { htmx.trigger(el, POLL); }
    });
  });

  // Widths the server computes (a progress bar), set through the CSSOM: the policy
  // refuses style attributes in the markup.
  function widths() {
    document.querySelectorAll("[data-width-percent]").forEach(function (el) {
      const pct = parseFloat(el.dataset.widthPercent);
      if (!isNaN(pct)) { el.style.width = Math.max(0, Math.min(100, pct)) + "%"; }
    });
  }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.due);
      if (!isNaN(due)) { el.textContent = fmt(due - now); }
    });
    document.querySelectorAll("[data-sla-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.slaDue);
      if (!isNaN(due)) { slaText(el, due - now); }
    });
    document.querySelectorAll("[data-sla-row]").forEach(function (row) {
      const before = row.dataset.status;
      const after = statusNow(row, now);
      if (after === before) { return; }
      row.dataset.status = after;
      const cell = row.querySelector(".sla-badge");
      if (cell) { cell.replaceChildren(badge(after)); }
      bump(before, -1);
      bump(after, +1);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    widths();
    poll();
    setInterval(tick, 1000);
    setInterval(poll, 1000);
  });
  document.addEventListener("htmx:load", function () { tick(); widths(); });
  document.addEventListener("htmx:oobAfterSwap", tick);

  // An action htmx could not complete (403, 404, 500...) still says so.
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail && event.detail.xhr ? event.detail.xhr.status : "";
    const text = status === 403 ? "You may not do this." : "The action failed (" + status + "). Reload the page and try again.";
    document.body.dispatchEvent(new CustomEvent("toast", { detail: { text: text, level: "danger" } }));
  });

  // A toast for each HX-Trigger "toast" event an htmx action answers with.
  document.body.addEventListener("toast", function (event) {
    const detail = event.detail || {};
    const box = document.getElementById("toasts");
    if (!box || !detail.text) { return; }
    const toast = document.createElement("div");
    toast.className = "toast show align-items-center text-bg-" + (detail.level || "success") + " border-0";
    toast.setAttribute("role", detail.level === "danger" ? "alert" : "status");
    const body = document.createElement("div");
    body.className = "d-flex";
    const text = document.createElement("div");
    text.className = "toast-body";
    text.textContent = detail.text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close btn-close-white me-2 m-auto";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", function () { toast.remove(); });
    body.append(text, close);
    toast.append(body);
    box.append(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  });
})();
