/* Balance on narrow screens: the folded menu as a disclosure button (WAI-ARIA APG "Disclosure";
   without script the toggle is a link to #site-menu, which CSS opens through :target), and
   panels marked data-fold-narrow (the directory's filters) folded on load. */
(function () {
  "use strict";
  var NARROW = "(max-width: 899px)";
  document.addEventListener("DOMContentLoaded", function () {
    if (window.matchMedia && window.matchMedia(NARROW).matches) {
      document.querySelectorAll("details[data-fold-narrow]").forEach(function (panel) { panel.open = false; });
    }
    var toggle = document.querySelector("[data-menu-toggle]");
    var menu = document.getElementById("site-menu");
    if (!toggle || !menu) return;
    function setOpen(open) {
      menu.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    }
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    // A link with role="button" must answer Space as a button does (Enter already clicks it).
    toggle.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); toggle.click(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("open")) {
        setOpen(false);
        toggle.focus();
      }
    });
  });
})();
