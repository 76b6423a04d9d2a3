/* Admin › featured specialists: drag-and-drop reordering, an enhancement only.
   Without JavaScript (and for keyboard users) the "Move up" / "Move down" buttons do the same. */
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("[data-featured-reorder]");
    var table = document.querySelector("table.featured-entries tbody");
    if (!form || !table) { return; }
    var input = form.querySelector("input[name='order']");
    var dragged = null;

    function rows() { return Array.prototype.slice.call(table.querySelectorAll("tr[data-entry-id]")); }

    function sync() {
      var ids = rows().map(function (row) { return row.getAttribute("data-entry-id"); });
      var changed = ids.join(",") !== input.defaultValue;
      input.value = ids.join(",");
      form.hidden = !changed;
      rows().forEach(function (row, i) { row.cells[0].textContent = String(i + 1); });
    }

    rows().forEach(function (row) {
      row.draggable = true;
      row.classList.add("is-draggable");
      row.addEventListener("dragstart", function (event) {
        dragged = row;
        row.classList.add("is-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", row.getAttribute("data-entry-id"));
      });
      row.addEventListener("dragend", function () {
        row.classList.remove("is-dragging");
        dragged = null;
        sync();
      });
      row.addEventListener("dragover", function (event) {
        if (!dragged || dragged === row) { return; }
        event.preventDefault();
        var box = row.getBoundingClientRect();
        var after = event.clientY > box.top + box.height / 2;
        table.insertBefore(dragged, after ? row.nextSibling : row);
      });
      row.addEventListener("drop", function (event) { event.preventDefault(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
