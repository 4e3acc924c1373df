// Swagger UI puts a deep link inside each operation's button; keep its text, drop the
// nested link (the button itself opens the operation). Its scrolling examples take the
// keyboard's focus, so they can be scrolled without a mouse.
(function () {
  "use strict";
  new MutationObserver(function () {
    document.querySelectorAll(".opblock-summary-control a.nostyle").forEach(function (a) {
      a.replaceWith.apply(a, Array.from(a.childNodes));
    });
    document.querySelectorAll(".swagger-ui pre:not([tabindex])").forEach(function (pre) {
      pre.setAttribute("tabindex", "0");
    });
  }).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
})();
