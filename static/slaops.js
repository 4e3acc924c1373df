// slaops: keep server-rendered countdowns live, and send expired htmx sessions to login.
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
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      const due = Date.parse(el.dataset.due);
      if (!isNaN(due)) { el.textContent = fmt(due - now); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
  document.addEventListener("htmx:afterSwap", tick);

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
