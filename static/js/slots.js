/* Balance: the slot picker (templates/consultations/_slot_picker.html) at once, without a request per click.

   Without script the time-of-day chips are checkboxes of a GET form ("Show times") and the week
   links reload the page; the server filters (marketplace/scheduling/weeks.py). Here the chips
   filter the week's times at once with the same rules and words: the parts of the day chosen are
   alternatives, "Weekend" narrows them, a chosen time is never hidden. The count is announced
   (aria-live); the week links, the URL and the chips' form keep the filters and the chosen time.
   On wide screens every day of the week is unfolded. */
(function () {
  "use strict";
  var WIDE = "(min-width: 641px)";

  function matches(kind, filter) {
    var bits = kind.split("-");
    return (!filter.parts.length || filter.parts.indexOf(bits[0]) >= 0) && (!filter.weekend || bits[1] === "weekend");
  }

  function withParams(href, values, slot) {
    var url = new URL(href, window.location.href);
    if (values !== null) {
      url.searchParams.delete("part");
      values.forEach(function (value) { url.searchParams.append("part", value); });
    }
    if (slot) url.searchParams.set("slot", slot);
    return url.pathname + url.search + url.hash;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var picker = document.querySelector("[data-slot-picker]");
    if (!picker) return;
    var weeks = [];
    try { weeks = JSON.parse(picker.getAttribute("data-weeks") || "[]"); } catch (e) { weeks = []; }
    var current = picker.getAttribute("data-week");
    var chips = Array.prototype.slice.call(picker.querySelectorAll("input[data-chip]"));
    var days = Array.prototype.slice.call(picker.querySelectorAll("[data-slot-day]"));
    var count = picker.querySelector("[data-slot-count]");
    var empty = picker.querySelector("[data-week-empty]");
    var apply = picker.querySelector("[data-chips-apply]");
    var filterForm = document.getElementById("slot-filter");

    if (apply) apply.hidden = true;  // the chips act at once
    if (window.matchMedia && window.matchMedia(WIDE).matches) {
      days.forEach(function (day) { day.open = true; });
    }

    function chosenFilter() {
      var on = chips.filter(function (chip) { return chip.checked; }).map(function (chip) { return chip.value; });
      return {
        values: on,
        parts: on.filter(function (value) { return value !== "weekend"; }),
        weekend: on.indexOf("weekend") >= 0
      };
    }

    function chosenSlot() {
      var checked = document.querySelector("input[type=radio][name=slot]:checked");
      return checked ? checked.value : "";
    }

    function keepLinks(filter) {
      var slot = chosenSlot();
      picker.querySelectorAll("a[data-picker-link]").forEach(function (link) {
        link.setAttribute("href", withParams(link.getAttribute("href"), filter.values, slot));
      });
      picker.querySelectorAll("a[data-show-all-link]").forEach(function (link) {
        link.setAttribute("href", withParams(link.getAttribute("href"), null, slot));
      });
      if (filterForm && slot) {
        var field = filterForm.querySelector("input[name=slot]");
        if (!field) {
          field = document.createElement("input");
          field.type = "hidden";
          field.name = "slot";
          filterForm.appendChild(field);
        }
        field.value = slot;
      }
    }

    function showEmpty(shown, filter) {
      if (!empty) return;
      empty.hidden = shown > 0;
      empty.querySelector("[data-filtered-note]").hidden = !filter.values.length;
      // The next week with times the filters show, else the latest earlier one (as the server says).
      var shows = function (week) { return week.kinds.some(function (kind) { return matches(kind, filter); }); };
      var next = weeks.filter(function (week) { return week.week > current && shows(week); })[0] || null;
      var earlier = next ? null : weeks.filter(function (week) { return week.week < current && shows(week); }).pop() || null;
      var other = next || earlier;
      var nextTimes = empty.querySelector("[data-next-times]");
      nextTimes.hidden = !other;
      if (other) {
        var link = empty.querySelector("[data-next-times-link]");
        var url = new URL(link.getAttribute("href"), window.location.href);
        url.searchParams.set("week", other.week);
        link.setAttribute("href", url.pathname + url.search);
        empty.querySelector("[data-next-times-word]").textContent = next ? "Next" : "Earlier";
        empty.querySelector("[data-next-times-label]").textContent = other.label;
      }
      empty.querySelector("[data-show-all]").hidden = !!other || !filter.values.length;
    }

    function filterTimes() {
      var filter = chosenFilter();
      var total = 0;
      var shown = 0;
      var firstShown = null;
      var openShown = false;
      days.forEach(function (day) {
        var here = 0;
        day.querySelectorAll("[data-kind]").forEach(function (choice) {
          var input = choice.querySelector("input");
          var show = matches(choice.getAttribute("data-kind"), filter) || (input && input.checked);
          choice.hidden = !show;
          total += 1;
          if (show) here += 1;
        });
        day.hidden = here === 0;
        var dayCount = day.querySelector("[data-day-count]");
        dayCount.firstChild.nodeValue = String(here);
        dayCount.lastChild.textContent = here === 1 ? " time" : " times";
        shown += here;
        if (here && !firstShown) firstShown = day;
        if (here && day.open) openShown = true;
      });
      if (firstShown && !openShown) firstShown.open = true;  // never leave only folded days
      var noun = total === 1 ? "free time" : "free times";
      count.textContent = filter.values.length ? shown + " of " + total + " " + noun : total + " " + noun;
      showEmpty(shown, filter);
      keepLinks(filter);
      if (window.history && window.history.replaceState) {
        var here = new URL(window.location.href);
        here.searchParams.set("week", current);
        here.searchParams.delete("part");
        filter.values.forEach(function (value) { here.searchParams.append("part", value); });
        window.history.replaceState(window.history.state, "", here.pathname + here.search + here.hash);
      }
    }

    chips.forEach(function (chip) { chip.addEventListener("change", filterTimes); });
    document.querySelectorAll("input[type=radio][name=slot]").forEach(function (radio) {
      radio.addEventListener("change", function () { keepLinks(chosenFilter()); });
    });
  });
})();
