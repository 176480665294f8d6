// Small and dependency-free: a Bishkek clock, the PIN keypad, live status, device-job progress, and the idle lock.
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
  // The browser applies autofocus on a later frame; a poll worker who types or presses Enter at once must reach the
  // step's main field or action, not the page body.
  var first = document.querySelector("[autofocus]");
  if (first && document.activeElement !== first) first.focus();
  document.querySelectorAll(".keypad button[data-key]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!pin) return;
      pin.value = b.dataset.key === "clear" ? "" : pin.value + b.dataset.key;
      pin.focus();
    });
  });

  var body = document.body;
  var labels = {}, codeLabels = {};
  try { labels = JSON.parse(body.dataset.devLabels || "{}"); } catch (e) { labels = {}; }
  try { codeLabels = JSON.parse(body.dataset.codeLabels || "{}"); } catch (e) { codeLabels = {}; }
  function locked(r) { if (r.status === 401) { window.location = "/login"; return null; } return r.ok ? r.json() : null; }

  if (body.dataset.loggedIn) {
    var lockAfter = parseFloat(body.dataset.lockAfter || "120") * 1000;
    var last = Date.now();
    ["click", "keydown", "touchstart"].forEach(function (e) {
      document.addEventListener(e, function () { last = Date.now(); }, true);
    });
    setInterval(function () { if (Date.now() - last > lockAfter) window.location = "/lock"; }, 1000);
    var peers = document.getElementById("peers");
    function set(id, value) { var el = document.getElementById(id); if (el) el.textContent = value; }
    setInterval(function () {
      fetch("/api/status").then(locked).then(function (s) {
        if (!s) return;
        set("c-identified", s.counters.identified);
        set("c-station", s.counters.station_identified);
        set("c-fta", s.counters.failure_to_acquire);
        set("c-ftm", s.counters.failure_to_match);
        set("c-refused-cards", s.refused_cards);
        Object.keys(s.throughput).forEach(function (m) { set("tp-" + m, s.throughput[m]); });
        Object.keys(s.devices).forEach(function (name) {
          var li = document.getElementById("dev-" + name), state = s.devices[name];
          if (!li) return;
          li.className = "dev " + state;
          var b = li.querySelector("b");
          if (b && b.dataset.state !== state) { b.dataset.state = state; b.textContent = labels[state] || state; }
          var span = document.getElementById("devcode-" + name), code = String((s.device_codes || {})[name] || 0);
          if (span && span.dataset.code !== code) { span.dataset.code = code; span.textContent = code === "0" ? "" : (codeLabels[code] || code); }
        });
        if (peers) peers.textContent = peers.textContent.replace(/\d+\s*$/, String(s.peers));
        var link = document.getElementById("link");
        if (link && s.link) {  // the CEC link (training kits): online or not, and the messages waiting in the outbox
          link.dataset.online = s.link.online ? "1" : "0";
          link.dataset.waiting = String(s.link.waiting);
          link.textContent = (s.link.online ? link.dataset.on : link.dataset.off).replace("{n}", String(s.link.waiting));
        }
        var here = document.getElementById("card-here");
        if (here && here.dataset.present !== undefined) {
          var present = s.card_present ? "1" : "0";
          if (here.dataset.present !== present) {
            here.dataset.present = present;
            here.textContent = present === "1" ? here.dataset.on : here.dataset.off;
          }
        }
      }).catch(function () {});
    }, 2000);

    // A device job (waiting for a finger, reading a card, printing): count the seconds, reload when it is over.
    var flow = document.getElementById("flow");
    if (flow && flow.dataset.busy) {
      // Once the operator submits (Cancel), the form's answer decides the next page, not this poll.
      var leaving = false;
      document.addEventListener("submit", function () { leaving = true; }, true);
      var poll = function () {
        if (leaving) return;
        fetch("/api/flow?wait=5").then(locked).then(function (f) {
          if (!f || leaving) return;
          if (!f.busy) { window.location.replace("/flow"); return; }
          set("busy-seconds", Math.floor(f.busy.seconds));
          setTimeout(poll, 100);
        }).catch(function () { setTimeout(poll, 1000); });
      };
      poll();
      var started = Date.now(), base = parseFloat((document.getElementById("busy-seconds") || {}).textContent || "0");
      var hint = document.getElementById("busy-hint");
      setInterval(function () {
        var seconds = base + (Date.now() - started) / 1000;
        set("busy-seconds", Math.floor(seconds));
        if (hint && seconds >= parseFloat(hint.dataset.after || "1e9")) hint.hidden = false;
      }, 500);
    }
  }
})();
