/* Balance payments: while a payment is being confirmed, reload the page every few seconds
   (the Stripe webhook usually arrives within seconds). No inline scripts (CSP). */
(function () {
  "use strict";
  var MAX_RELOADS = 24; // about two minutes; the confirmation e-mail follows anyway

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-poll]");
    if (!el) return;
    var seconds = parseInt(el.getAttribute("data-poll"), 10) || 5;
    var key = "balance-poll:" + window.location.pathname + window.location.search;
    var reloads = 0;
    try { reloads = parseInt(window.sessionStorage.getItem(key) || "0", 10); } catch (e) { reloads = 0; }
    if (reloads >= MAX_RELOADS) return;
    window.setTimeout(function () {
      try { window.sessionStorage.setItem(key, String(reloads + 1)); } catch (e) { /* private mode */ }
      window.location.reload();
    }, seconds * 1000);
  });
})();
