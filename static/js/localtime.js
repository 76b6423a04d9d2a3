/* Balance: one honest time on every page, from the first one on. No inline scripts (CSP).

   The server renders every time as <time datetime="…Z" data-style="datetime|date|clock"
   data-zone="…">text</time>, computed in the zone it knows: the person's account or choice, or the
   zone this script reported on an earlier page (cookie "tz", checked by the server against its
   list). On a first visit it knows none and shows UTC, named as such. Here, unless the person set
   a zone (account, chooser), the page's times are shown in the browser's zone, with its name, and
   that zone is remembered for the server. Slot buttons keep their instants as values, so what is
   booked never depends on what is displayed. */
(function () {
  "use strict";

  var browserZone = "";
  try { browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { browserZone = ""; }
  // IANA names only contain letters, digits, "/", "_", "+" and "-": safe as a raw cookie value.
  if (!/^[A-Za-z0-9\/_+\-]{1,64}$/.test(browserZone)) browserZone = "";

  var note = document.querySelector("[data-viewer-zone]");
  var serverZone = note ? note.getAttribute("data-viewer-zone") : "UTC";
  var source = note ? note.getAttribute("data-zone-source") : "unknown";
  var fixed = source === "account" || source === "chosen";

  function parts(date, zone, options) {
    var out = {};
    options.timeZone = zone;
    new Intl.DateTimeFormat("en-US", options).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }

  function clock(date, zone) {
    var p = parts(date, zone, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return (p.hour === "24" ? "00" : p.hour) + ":" + p.minute;
  }

  function dayKey(date, zone) {
    var p = parts(date, zone, { year: "numeric", month: "2-digit", day: "2-digit" });
    return p.year + "-" + p.month + "-" + p.day;
  }

  function shortDay(date, zone) {
    var p = parts(date, zone, { weekday: "short", day: "numeric", month: "short" });
    return p.weekday + " " + p.day + " " + p.month;
  }

  // "EST", "CET", "GMT": a letter abbreviation where one of two common English locales has it,
  // else the offset ("GMT+9"). The IANA name is always shown beside it.
  function abbreviation(date, zone) {
    var found = "";
    ["en-US", "en-GB"].forEach(function (locale) {
      if (/^[A-Z]{2,5}$/.test(found)) return;
      var name = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: "short" })
        .formatToParts(date).filter(function (p) { return p.type === "timeZoneName"; })[0];
      if (name && (!found || /^[A-Z]{2,5}$/.test(name.value))) found = name.value;
    });
    return found;
  }

  // The server's formats (marketplace/timeutil.py), in another zone.
  function format(el, date, zone) {
    var style = el.getAttribute("data-style");
    if (style === "clock") {
      // Under a day heading: say so when this time falls on another day in this zone.
      var group = el.closest("[data-slot-day]");
      var heading = group && group.querySelector("time[data-style=date]");
      var text = clock(date, zone);
      if (heading && dayKey(new Date(heading.getAttribute("datetime")), zone) !== dayKey(date, zone)) {
        text += " (" + shortDay(date, zone) + ")";
      }
      return text;
    }
    if (style === "date") {
      var d = parts(date, zone, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
      return d.weekday + " " + d.day + " " + d.month + " " + d.year;
    }
    var p = parts(date, zone, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
    var abbr = abbreviation(date, zone);
    var named = abbr && abbr !== zone ? abbr + " (" + zone + ")" : zone;
    return p.weekday + " " + p.day + " " + p.month + " " + p.year + ", " + clock(date, zone) + " " + named;
  }

  function render(zone) {
    var times = Array.prototype.slice.call(document.querySelectorAll("time[datetime][data-style]"));
    var texts = times.map(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (el.getAttribute("data-zone") !== serverZone || isNaN(date.getTime())) return null;
      return format(el, date, zone);
    });
    times.forEach(function (el, i) {
      if (texts[i] === null) return;
      el.textContent = texts[i];
      el.setAttribute("data-zone", zone);
    });
    document.querySelectorAll("[data-zone-name]").forEach(function (el) {
      if (el.textContent.trim() === serverZone) el.textContent = zone;
    });
    if (note) note.setAttribute("data-viewer-zone", zone);
  }

  function remember(zone) {
    var current = /(?:^|;\s*)tz=([^;]*)/.exec(document.cookie);
    if (current && decodeURIComponent(current[1]) === zone) return;
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
  }

  try {
    if (browserZone && !fixed) {
      remember(browserZone);
      if (browserZone !== serverZone) render(browserZone);
      document.querySelectorAll("[data-zone-why]").forEach(function (el) {
        el.textContent = ", your browser's time zone";
      });
      if (note) note.setAttribute("data-zone-source", "browser");
      // The chooser starts at the browser's zone rather than the UTC the server fell back to.
      document.querySelectorAll("select[name=timezone]").forEach(function (select) {
        if (select.value === serverZone && select.querySelector('option[value="' + browserZone + '"]')) {
          select.value = browserZone;
        }
      });
    }
  } catch (e) { /* an engine without these Intl features keeps the server's true text */ }

  // Sign-up forms take the zone times are shown in: the person's choice, else the browser's.
  var prefill = fixed ? serverZone : (browserZone || serverZone);
  document.querySelectorAll("input[type=hidden][name=timezone]").forEach(function (input) {
    if (!input.value) input.value = prefill;
  });
})();
