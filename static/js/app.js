/* Balance: small progressive enhancements. No inline scripts (CSP), no third parties. */
(function () {
  "use strict";

  // Offline banner (seed wording), shown while the browser is offline.
  function updateOnline() {
    var banner = document.getElementById("offline-banner");
    if (banner) banner.hidden = navigator.onLine;
  }
  window.addEventListener("online", updateOnline);
  window.addEventListener("offline", updateOnline);

  // The time zone (cookie, times, sign-up forms) is localtime.js's.

  document.addEventListener("DOMContentLoaded", function () {
    updateOnline();
    // "Copy link" share buttons.
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var status = button.parentElement.querySelector(".copy-status");
        var done = function () { if (status) status.textContent = " Link copied"; };
        if (navigator.clipboard) {
          navigator.clipboard.writeText(button.getAttribute("data-copy")).then(done, function () {
            if (status) status.textContent = " " + button.getAttribute("data-copy");
          });
        } else if (status) {
          status.textContent = " " + button.getAttribute("data-copy");
        }
      });
    });
    // Confirmation for destructive actions.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    // Auto-submit filters marked as such (directory), still works without JS via the button.
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { if (el.form) el.form.requestSubmit(); });
    });
  });
})();
