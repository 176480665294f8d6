// The CEC live page: one EventSource on /api/stream pushes a small state (figures, curve, map, kits, anomalies) every
// second; the station table is read a page at a time from /api/turnout/stations/table, sorted and filtered by the
// server, and re-read after each push. The charting library (4.8 MB of script, seconds to parse on a loaded machine)
// is fetched only after the first state is on screen, and the charts are drawn once it has loaded.
"use strict";

const I18N = {
  en: {title: "Live turnout", status_connecting: "connecting…", status_live: "live, updated", status_lost: "connection lost, retrying",
    token: "Access token", open: "Open", identified: "identified", turnout: "turnout", kits_active: "kits active",
    kits_silent: "silent kits", manual_share: "manual fallback", curve: "Turnout by hour (cumulative %)",
    map: "Oblasts (schematic map, not to scale)", anomalies: "Anomalies", kit_health: "Kit health", station: "Station", kit: "Kit",
    last_seen: "Last seen, s", devices: "Devices", queue: "Outbox", per_hour: "Last hour", stations: "Stations",
    filter: "filter by station, oblast or district", oblast: "Oblast", district: "District", registered: "Registered", manual: "Manual",
    this_election: "this election", previous: "previous election", no_anomalies: "no anomalies",
    kit_summary: "{total} kits, {silent} silent, {faults} with device faults, {pending} messages waiting",
    rows_shown: "stations {from}-{to} of {total}",
    silent_station: "silent station", too_fast: "identifications faster than possible", outside_hours: "outside opening hours",
    manual_burst: "burst of manual fallback", far_from_peers: "curve far from its peers", repeated_overrides: "repeated supervisor overrides",
    same_person_twice: "same person at two stations"},
  ru: {title: "Явка в реальном времени", status_connecting: "подключение…", status_live: "онлайн, обновлено", status_lost: "связь потеряна, повтор",
    token: "Токен доступа", open: "Открыть", identified: "идентифицировано", turnout: "явка", kits_active: "комплектов в сети",
    kits_silent: "молчащих комплектов", manual_share: "ручной ввод", curve: "Явка по часам (нарастающим итогом, %)",
    map: "Области (схема, не в масштабе)", anomalies: "Аномалии", kit_health: "Состояние комплектов", station: "Участок", kit: "Комплект",
    last_seen: "Был на связи, с", devices: "Устройства", queue: "Очередь", per_hour: "За час", stations: "Участки",
    filter: "фильтр по участку, области или району", oblast: "Область", district: "Район", registered: "В списке", manual: "Вручную",
    this_election: "эти выборы", previous: "прошлые выборы", no_anomalies: "аномалий нет",
    kit_summary: "{total} комплектов, {silent} молчат, {faults} с неисправностями, {pending} сообщений в очереди",
    rows_shown: "участки {from}-{to} из {total}",
    silent_station: "участок молчит", too_fast: "идентификации быстрее возможного", outside_hours: "вне часов голосования",
    manual_burst: "всплеск ручного ввода", far_from_peers: "кривая далека от соседей", repeated_overrides: "повторные решения председателя",
    same_person_twice: "один человек на двух участках"},
  ky: {title: "Шайлоочулардын катышуусу түз эфирде", status_connecting: "туташууда…", status_live: "онлайн, жаңыланды", status_lost: "байланыш үзүлдү, кайра аракет",
    token: "Кирүү токени", open: "Ачуу", identified: "идентификацияланды", turnout: "катышуу", kits_active: "иштеген комплекттер",
    kits_silent: "үнсүз комплекттер", manual_share: "кол менен киргизүү", curve: "Саат боюнча катышуу (топтолгон %)",
    map: "Облустар (схема, масштабсыз)", anomalies: "Аномалиялар", kit_health: "Комплекттердин абалы", station: "Участок", kit: "Комплект",
    last_seen: "Акыркы байланыш, с", devices: "Түзмөктөр", queue: "Кезек", per_hour: "Акыркы саат", stations: "Участоктор",
    filter: "участок, облус же район боюнча чыпкалоо", oblast: "Облус", district: "Район", registered: "Тизмеде", manual: "Кол менен",
    this_election: "бул шайлоо", previous: "мурунку шайлоо", no_anomalies: "аномалия жок",
    kit_summary: "{total} комплект, {silent} үнсүз, {faults} бузук түзмөк менен, {pending} билдирүү кезекте",
    rows_shown: "{total} участоктон {from}-{to}",
    silent_station: "участок үнсүз", too_fast: "мүмкүн болгондон тез идентификация", outside_hours: "шайлоо убактысынан тышкары",
    manual_burst: "кол менен киргизүүнүн көбөйүшү", far_from_peers: "ийри сызык коңшуларынан алыс", repeated_overrides: "төрагалардын кайталанган чечимдери",
    same_person_twice: "бир адам эки участокто"},
};

// Schematic tile positions (column, row) of the 7 oblasts and 2 cities, roughly as they lie on the map.
const TILES = {"Talas": [0, 0], "Bishkek": [1.5, 0], "Chuy": [2, 0.7], "Issyk-Kul": [3.4, 0.5], "Jalal-Abad": [0.8, 1.3],
  "Naryn": [2.6, 1.5], "Batken": [0, 2.4], "Osh": [1.1, 2.1], "Osh oblast": [1.9, 2.5]};

let lang = localStorage.getItem("shailoo-lang") || "en";
let state = null;
let sortKey = "station_id", sortDir = 1, offset = 0, accessToken = "", tableRequest = 0;
const PAGE_ROWS = 100;

function t(key, vars) {
  let s = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
  return s;
}

function applyLang() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach(el => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach(el => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("#langs button").forEach(b => b.classList.toggle("active", b.dataset.lang === lang));
  if (state) render();
}

function fmtPct(p) { return p === null || p === undefined ? "–" : p.toFixed(1) + "%"; }

function renderCurve() {
  const hours = state.turnout.by_hour.filter(h => h.hour >= 6 && h.hour <= 21);
  const traces = [{x: hours.map(h => h.hour), y: hours.map(h => h.cumulative_percent), name: t("this_election"),
    mode: "lines+markers", line: {color: "#123a6b"}}];
  if (state.reference.points.length) {
    traces.push({x: state.reference.points.map(p => p.hour), y: state.reference.points.map(p => p.cumulative_percent),
      name: t("previous") + " (" + state.reference.label + ")", mode: "lines", line: {dash: "dot", color: "#999"}});
  }
  Plotly.react("curve", traces, {margin: {t: 10, r: 10, b: 30, l: 40}, xaxis: {dtick: 1}, yaxis: {ticksuffix: "%"},
    legend: {orientation: "h"}}, {displayModeBar: false, responsive: true});
}

function renderMap() {
  const rows = state.turnout.by_oblast.filter(o => TILES[o.oblast]);
  Plotly.react("map", [{
    x: rows.map(o => TILES[o.oblast][0]), y: rows.map(o => -TILES[o.oblast][1]), mode: "markers+text",
    marker: {symbol: "square", size: 62, color: rows.map(o => o.percent || 0), colorscale: [[0, "#eef4fb"], [1, "#4f8fd6"]], cmin: 0,
      cmax: Math.max(10, ...rows.map(o => o.percent || 0)), showscale: true, colorbar: {ticksuffix: "%"}},
    text: rows.map(o => o.oblast + "<br>" + fmtPct(o.percent)), textfont: {size: 10, color: "#111"},
    hovertext: rows.map(o => `${o.oblast}: ${o.identified} / ${o.registered}`), hoverinfo: "text"}],
    {margin: {t: 10, r: 10, b: 10, l: 10}, xaxis: {visible: false, range: [-0.6, 4]}, yaxis: {visible: false, range: [-3, 0.6]}},
    {displayModeBar: false, responsive: true});
}

let page = null;

async function loadStations() {
  const ticket = ++tableRequest;
  const q = document.getElementById("filter").value.trim();
  const params = new URLSearchParams({offset: offset, limit: PAGE_ROWS, sort: sortKey, dir: sortDir === 1 ? "asc" : "desc", q: q});
  try {
    const response = await fetch("/api/turnout/stations/table?" + params, {headers: {Authorization: "Bearer " + accessToken}});
    if (!response.ok) return;
    const body = await response.json();
    if (ticket !== tableRequest) return;  // a newer request (sort, filter, page) is on its way
    page = body;
    renderStations();
  } catch (err) { /* the next push retries */ }
}

function renderStations() {
  if (!page) return;
  document.querySelector("#stations tbody").innerHTML = page.rows.map(r =>
    `<tr><td>${r.station_id}</td><td>${r.oblast}</td><td>${r.district}</td><td>${r.registered}</td>` +
    `<td>${r.identified}</td><td>${fmtPct(r.percent)}</td><td>${r.manual}</td></tr>`).join("");
  document.querySelectorAll("#stations th").forEach(th => {
    th.classList.toggle("sorted-asc", th.dataset.key === sortKey && sortDir === 1);
    th.classList.toggle("sorted-desc", th.dataset.key === sortKey && sortDir === -1);
  });
  document.getElementById("rows-note").textContent = t("rows_shown",
    {from: page.total ? page.offset + 1 : 0, to: page.offset + page.rows.length, total: page.total});
  document.getElementById("prev").disabled = page.offset === 0;
  document.getElementById("next").disabled = page.offset + page.rows.length >= page.total;
  document.body.dataset.tableRows = String(page.rows.length);
}

function renderKits() {
  const k = state.kits;
  document.getElementById("kit-summary").textContent =
    t("kit_summary", {total: k.total, silent: k.silent, faults: k.device_faults, pending: k.pending});
  document.querySelector("#kits tbody").innerHTML = k.listed.map(r => {
    const devices = Object.entries(r.devices).map(([n, s]) => s === "ready" || s === "busy" ? `${n}: ${s}` :
      `<span class="bad">${n}: ${s}</span>`).join(", ") + (r.paper_low ? ' <span class="bad">paper low</span>' : "");
    return `<tr><td>${r.station_id}</td><td>${r.kit_id}${r.status === "revoked" ? ' <span class="bad">revoked</span>' : ""}</td>` +
      `<td>${r.seconds_since_seen === null ? "–" : Math.round(r.seconds_since_seen)}</td><td>${devices}</td>` +
      `<td>${r.pending}</td><td>${r.identified_last_hour}</td></tr>`;
  }).join("");
}

function renderAnomalies() {
  const list = document.getElementById("anomalies");
  if (!state.anomalies.length) { list.innerHTML = `<li>${t("no_anomalies")}</li>`; return; }
  list.innerHTML = state.anomalies.slice(0, 300).map(a =>
    `<li class="anomaly" data-kind="${a.kind}"><b>${t(a.kind)}</b> — ${a.station_id}${a.kit_id ? "/" + a.kit_id : ""}: ${a.detail}</li>`).join("");
}

function render() {
  const tu = state.turnout;
  document.getElementById("kpi-total").textContent = tu.total.toLocaleString();
  document.getElementById("kpi-percent").textContent = fmtPct(tu.percent);
  document.getElementById("kpi-kits").textContent = state.kits.active;
  document.getElementById("kpi-silent").textContent = state.kits.silent;
  const manual = tu.total ? 100 * tu.by_path.manual / tu.total : null;
  document.getElementById("kpi-manual").textContent = fmtPct(manual);
  renderCharts(); renderStations(); renderKits(); renderAnomalies();
  document.getElementById("status").textContent = t("status_live") + " " + new Date().toLocaleTimeString();
}

function renderCharts() {
  if (!window.Plotly || !state) return;
  renderCurve(); renderMap();
  document.body.dataset.charts = String(Number(document.body.dataset.charts || 0) + 1);
}
let chartsRequested = false;
function loadCharts() {
  if (chartsRequested) return;
  chartsRequested = true;
  const script = document.createElement("script");
  script.src = "/static/plotly.min.js";
  script.onload = renderCharts;
  document.head.appendChild(script);
}

function connect(token) {
  document.getElementById("main").hidden = false;
  accessToken = token;
  const source = new EventSource("/api/stream?access_token=" + encodeURIComponent(token));
  source.addEventListener("state", ev => {
    state = JSON.parse(ev.data);
    render();
    loadStations();
    setTimeout(loadCharts, 0);
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
    document.body.dataset.total = String(state.turnout.total);
  });
  source.onerror = () => { document.getElementById("status").textContent = t("status_lost"); };
}

document.querySelectorAll("#langs button").forEach(b => b.addEventListener("click", () => {
  lang = b.dataset.lang; localStorage.setItem("shailoo-lang", lang); applyLang();
}));
document.querySelectorAll("#stations th").forEach(th => th.addEventListener("click", () => {
  if (sortKey === th.dataset.key) sortDir = -sortDir; else { sortKey = th.dataset.key; sortDir = th.dataset.key === "station_id" ? 1 : -1; }
  offset = 0;
  if (state) loadStations();
}));
document.getElementById("filter").addEventListener("input", () => { offset = 0; if (state) loadStations(); });
document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE_ROWS); loadStations(); });
document.getElementById("next").addEventListener("click", () => { offset += PAGE_ROWS; loadStations(); });

const params = new URLSearchParams(location.search);
if (params.get("lang") && I18N[params.get("lang")]) lang = params.get("lang");
applyLang();
const token = params.get("token") || sessionStorage.getItem("shailoo-token");
if (token) { sessionStorage.setItem("shailoo-token", token); connect(token); }
else {
  const form = document.getElementById("login");
  form.hidden = false;
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    const value = document.getElementById("token").value;
    sessionStorage.setItem("shailoo-token", value); form.hidden = true; connect(value);
  });
}
