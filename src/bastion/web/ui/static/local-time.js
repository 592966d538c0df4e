// Shows every <time data-local> in the viewer's own time zone (see bastion/web/ui/times.py).
(function () {
  "use strict";
  var numeric = {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                 second: "2-digit", hourCycle: "h23"};
  function parts(date) {
    var out = {};
    new Intl.DateTimeFormat("en-CA", numeric).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    var zone = new Intl.DateTimeFormat(navigator.language || "en", {timeZoneName: "short"}).formatToParts(date)
      .filter(function (p) { return p.type === "timeZoneName"; });
    out.zone = zone.length ? zone[0].value : "";
    return out;
  }
  function show(el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    var p = parts(date), precision = el.getAttribute("data-local"), day = p.year + "-" + p.month + "-" + p.day;
    var text = {date: day, time: p.hour + ":" + p.minute + " " + p.zone,
                second: day + " " + p.hour + ":" + p.minute + ":" + p.second + " " + p.zone}[precision];
    el.textContent = text || day + " " + p.hour + ":" + p.minute + " " + p.zone;
    el.setAttribute("data-zone", Intl.DateTimeFormat().resolvedOptions().timeZone || "");
  }
  function all(root) { (root || document).querySelectorAll("time[data-local]").forEach(show); }
  document.addEventListener("DOMContentLoaded", function () { all(document); });
  document.addEventListener("htmx:afterSwap", function (e) { all(e.target); });
})();
