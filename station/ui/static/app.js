// Small and dependency-free: a Bishkek clock, the PIN keypad, live status, and the idle lock.
(function () {
  "use strict";
  var clock = document.getElementById("clock");
  function tick() {
    // Asia/Bishkek is UTC+6 all year: compute it from UTC so a kit with a wrong time zone still shows local time.
    var d = new Date(Date.now() + 6 * 3600 * 1000);
    if (clock) clock.textContent = d.toISOString().substr(11, 8) + " (UTC+6)";
  }
  tick(); setInterval(tick, 1000);

  var pin = document.getElementById("pin");
  document.querySelectorAll(".keypad button[data-key]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!pin) return;
      pin.value = b.dataset.key === "clear" ? "" : pin.value + b.dataset.key;
      pin.focus();
    });
  });

  var body = document.body;
  if (body.dataset.loggedIn) {
    var lockAfter = parseFloat(body.dataset.lockAfter || "120") * 1000;
    var last = Date.now();
    ["click", "keydown", "touchstart"].forEach(function (e) {
      document.addEventListener(e, function () { last = Date.now(); }, true);
    });
    setInterval(function () { if (Date.now() - last > lockAfter) window.location = "/lock"; }, 1000);
    var peers = document.getElementById("peers");
    setInterval(function () {
      fetch("/api/status").then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
        if (!s) return;
        var ids = { "c-identified": s.counters.identified, "c-station": s.counters.station_identified };
        Object.keys(ids).forEach(function (k) { var el = document.getElementById(k); if (el) el.textContent = ids[k]; });
        if (peers) peers.textContent = peers.textContent.replace(/\d+\s*$/, String(s.peers));
      }).catch(function () {});
    }, 2000);
  }
})();
