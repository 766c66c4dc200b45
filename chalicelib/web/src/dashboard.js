// The engagement dashboard. Sign-in: OIDC authorization code + PKCE (oidc-client-ts) against the
// staff issuer named by /dashboard/config.json; tokens stay in this tab's sessionStorage. Every
// data call sends the session's `purpose`. Each figure is drawn with uPlot from the API's numbers,
// shown as a table of exactly those numbers, and downloadable as CSV of that table.
(function () {
  "use strict";

  const BASE = document.querySelector('meta[name="beatline-base"]').content;
  const PURPOSE_KEY = "beatline.purpose";
  const MAX_TEAMS = 10;
  const COLOURS = ["#0b3d6e", "#d4351c", "#00703c", "#6f3c97", "#b58840", "#005ea5", "#912b88", "#28a197", "#6b7280", "#f47738"];
  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  const $ = (id) => document.getElementById(id);

  const state = { config: null, manager: null, user: null, claims: {}, api: null, charts: {} };
  window.beatlineCharts = state.charts; // what each chart was drawn from (read by the browser tests)

  // --- small helpers ------------------------------------------------------------------------

  function show(id, visible) { $(id).hidden = !visible; }
  function status(text) { $("app-status").textContent = text; }

  function decodeClaims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch {
      return {};
    }
  }

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function isoWeek(day) {
    const d = new Date(day + "T00:00:00Z");
    const weekday = (d.getUTCDay() + 6) % 7;
    d.setUTCDate(d.getUTCDate() - weekday + 3); // the Thursday of this ISO week
    const year = d.getUTCFullYear();
    const firstThursday = new Date(Date.UTC(year, 0, 4));
    firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
    const week = 1 + Math.round((d - firstThursday) / (7 * 86400000));
    return year + "-W" + String(week).padStart(2, "0");
  }

  function periodOf(day, grain) {
    if (grain === "day") return day;
    if (grain === "month") return day.slice(0, 7);
    return isoWeek(day);
  }

  // Every period between the two days at the grain, so empty periods show as 0.
  function periods(from, to, grain) {
    const out = [];
    const d = new Date(from + "T00:00:00Z");
    const end = new Date(to + "T00:00:00Z");
    while (d <= end && out.length < 400) {
      const p = periodOf(isoDay(d), grain);
      if (out[out.length - 1] !== p) out.push(p);
      d.setUTCDate(d.getUTCDate() + 1);
    }
    return out;
  }

  // Spreadsheet formula injection: a cell a spreadsheet could evaluate gets a leading quote.
  function csvCell(value) {
    let text = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function toCsv(columns, rows) {
    return [columns, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // --- API --------------------------------------------------------------------------------

  class HttpError extends Error {
    constructor(status, detail) { super(detail || "HTTP " + status); this.status = status; }
  }

  async function apiGet(path, params) {
    const query = new URLSearchParams({ ...params, purpose: sessionStorage.getItem(PURPOSE_KEY) || "" });
    const response = await fetch(BASE + path + "?" + query.toString(), {
      headers: { Authorization: "Bearer " + state.user.access_token, Accept: "application/json" },
    });
    if (response.status === 401) {
      await signOut("Your sign-in has expired: sign in again.");
      throw new HttpError(401, "signed out");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new HttpError(response.status, body.detail || body.title);
    return body;
  }

  // Which routes exist and whom they admit, from the served OpenAPI document: a figure whose
  // route is missing (not built yet) or closed to the user's role is explained, not requested.
  function apiIndex(openapi) {
    return (path) => {
      const operation = openapi.paths && openapi.paths[path] && openapi.paths[path].get;
      if (!operation) return "missing";
      const roles = operation["x-roles"] || [];
      return (state.claims.roles || []).some((r) => roles.includes(r)) ? "ok" : "forbidden";
    };
  }

  function findEnum(schema) {
    if (!schema || typeof schema !== "object") return null;
    if (Array.isArray(schema.enum)) return schema.enum;
    for (const part of schema.anyOf || schema.oneOf || []) {
      const found = findEnum(part);
      if (found) return found;
    }
    return null;
  }

  // The topic list, as the contract has it (the history listing's `topic` parameter).
  function topicsOf(openapi) {
    const listing = ((openapi.paths || {})["/v1/history/contacts"] || {}).get || {};
    const parameter = (listing.parameters || []).find((p) => p.name === "topic");
    return (parameter && findEnum(parameter.schema)) || [];
  }

  // --- figures ----------------------------------------------------------------------------

  const FIGURES = [
    { id: "contacts", title: "Contacts per period: street and online", route: "/v1/history/stats",
      desc: "Every logged contact, by channel.", load: loadContacts },
    { id: "online-share", title: "Online share per team", route: "/v1/history/stats",
      desc: "Online contacts as a percentage of each team's contacts.", load: loadOnlineShare },
    { id: "direction", title: "Online: listening (inbound) and talking (outbound)", route: "/v1/history/stats",
      desc: "Online contacts by direction: residents reaching us against us reaching out.", load: loadDirection },
    { id: "topics", title: "Contacts per topic", route: "/v1/history/stats",
      desc: "Follows the topic filter.", load: loadTopics },
    { id: "breadth", title: "Breadth: staff who engaged", route: "/v1/history/engagement",
      desc: "How many distinct staff logged at least one contact, on the street, online and online outbound (all roles in the chart; by role in the table).",
      load: loadBreadth },
    { id: "conversations", title: "Conversations", route: "/v1/history/conversations",
      desc: "Conversations opened, answered (first team answer) and closed, and waits of 24 hours or more ended, per period (all teams shown in the chart); first-response median and 90th percentile in minutes per period and team in the table.",
      load: loadConversations },
    { id: "alerts", title: "Alerts: reach, read rate and responses", route: "/v1/history/alerts",
      desc: "Per alert published in the period.", load: loadAlerts },
    { id: "guarantee", title: "Neighbourhood Policing Guarantee", route: "/v1/history/conversations",
      desc: "Per team for the period: waits answered within the response standard (count and share), waits that passed the standard in the period and are still open now, escalations by residents; current priorities overdue for review (now) and meetings held that started in the period with their recorded attendance (meetings are listed from 30 days ago on).",
      load: loadGuarantee },
  ];

  function buildFigure(figure) {
    const section = document.createElement("section");
    section.className = "figure";
    section.id = "fig-" + figure.id;
    section.setAttribute("aria-labelledby", section.id + "-title");
    const part = (tag, attributes) => {
      const node = document.createElement(tag);
      Object.entries(attributes).forEach(([k, v]) => node.setAttribute(k, v));
      return node;
    };
    const table = part("table", {});
    table.append(part("caption", { id: section.id + "-caption" }), part("thead", {}), part("tbody", {}));
    const wrap = part("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": section.id + "-caption" });
    wrap.append(table);
    const csv = part("button", { type: "button", class: "csv" });
    csv.disabled = true;
    csv.textContent = "Download CSV";
    section.append(part("h2", { id: section.id + "-title" }), part("p", { class: "desc" }),
      part("p", { class: "figure-status", role: "status" }), part("div", { class: "plot", "aria-hidden": "true" }), wrap, csv);
    section.querySelector("h2").textContent = figure.title;
    section.querySelector(".desc").textContent = figure.desc;
    section.querySelector("caption").textContent = figure.title + ": the numbers";
    section.querySelector(".csv").setAttribute("aria-label", "Download CSV: " + figure.title);
    section.querySelector(".csv").addEventListener("click", () => {
      const table = state.tables[figure.id];
      if (table) download(figure.id + "_" + state.filters.from + "_" + state.filters.to + ".csv", toCsv(table.columns, table.rows));
    });
    return section;
  }

  function setTable(figure, columns, rows) {
    state.tables[figure.id] = { columns, rows };
    const section = $("fig-" + figure.id);
    const head = section.querySelector(".table-wrap thead");
    const body = section.querySelector(".table-wrap tbody");
    head.replaceChildren(row("th", columns, { scope: "col" }));
    body.replaceChildren(...rows.map((cells) => row("td", cells)));
    section.querySelector(".csv").disabled = rows.length === 0;
    section.querySelector(".csv").hidden = false;
    section.querySelector(".table-wrap").hidden = false;
  }

  function row(tag, cells, attributes) {
    const tr = document.createElement("tr");
    cells.forEach((cell, index) => {
      const el = document.createElement(index === 0 && tag === "td" ? "th" : tag);
      if (index === 0 && tag === "td") el.setAttribute("scope", "row");
      Object.entries(attributes || {}).forEach(([k, v]) => el.setAttribute(k, v));
      if (typeof cell === "string" && !/^-?\d+(\.\d+)?%?$/.test(cell)) el.className = "text";
      el.textContent = cell === null || cell === undefined ? "" : String(cell);
      tr.appendChild(el);
    });
    return tr;
  }

  function figureMessage(figure, text) {
    const section = $("fig-" + figure.id);
    section.querySelector(".figure-status").textContent = text;
  }

  function unavailable(figure, text) {
    const section = $("fig-" + figure.id);
    section.querySelector(".plot").replaceChildren();
    section.querySelector(".table-wrap").hidden = true;
    section.querySelector(".csv").hidden = true;
    state.tables[figure.id] = null;
    state.charts[figure.id] = { unavailable: text };
    figureMessage(figure, text);
  }

  // labels: x labels; series: [{label, values}]
  function draw(figure, labels, series, unit) {
    const section = $("fig-" + figure.id);
    const plot = section.querySelector(".plot");
    state.charts[figure.id] = { labels, series: series.map((s) => ({ label: s.label, values: s.values })) };
    plot.replaceChildren();
    if (!labels.length || !series.length) return;
    const xs = labels.map((_, i) => i);
    const options = {
      width: Math.max(320, Math.min(plot.clientWidth || 900, 1150)),
      height: 260,
      scales: { x: { time: false } },
      axes: [
        { values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] || "" : "")), space: 60, incrs: [1, 2, 4, 8, 13, 26, 52] },
        { values: (u, splits) => splits.map((v) => v + (unit || "")) },
      ],
      series: [{ label: "period", value: (u, i) => (i === null ? "" : labels[i]) }].concat(series.map((s, i) => ({
        label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, dash: DASHES[i % DASHES.length],
        points: { show: true, size: 5 },
      }))),
    };
    new window.uPlot(options, [xs, ...series.map((s) => s.values)], plot);
  }

  function byPeriod(buckets, keyOf, valueOf) {
    const out = {};
    buckets.forEach((b) => {
      const key = keyOf(b);
      out[b.period] = out[b.period] || {};
      out[b.period][key] = (out[b.period][key] || 0) + valueOf(b);
    });
    return out;
  }

  function statsParams(by, team) {
    const f = state.filters;
    const params = { from: f.from, to: f.to, group_by: f.grain, by: by };
    if (team) params.team = team;
    return params;
  }

  async function loadContacts(figure) {
    const data = await apiGet("/v1/history/stats", statsParams("kind", state.filters.team));
    const table = byPeriod(data.buckets, (b) => b.key, (b) => b.contacts);
    const labels = state.periods;
    const street = labels.map((p) => (table[p] || {}).street || 0);
    const online = labels.map((p) => (table[p] || {}).online || 0);
    draw(figure, labels, [{ label: "street", values: street }, { label: "online", values: online }]);
    setTable(figure, ["period", "street", "online", "total"], labels.map((p, i) => [p, street[i], online[i], street[i] + online[i]]));
  }

  async function teamsInScope() {
    if (state.filters.team) return [state.filters.team];
    if (!isForceWide()) return [state.claims.team];
    const data = await apiGet("/v1/history/stats", statsParams("team"));
    const totals = {};
    data.buckets.forEach((b) => { totals[b.key] = (totals[b.key] || 0) + b.contacts; });
    return Object.keys(totals).sort((a, b) => totals[b] - totals[a] || a.localeCompare(b)).slice(0, MAX_TEAMS).sort();
  }

  async function loadOnlineShare(figure) {
    const teams = await teamsInScope();
    const results = await Promise.all(teams.map((team) => apiGet("/v1/history/stats", statsParams("kind", team))));
    const labels = state.periods;
    const rows = [];
    const series = teams.map((team, index) => {
      const table = byPeriod(results[index].buckets, (b) => b.key, (b) => b.contacts);
      const values = labels.map((p) => {
        const online = (table[p] || {}).online || 0;
        const all = online + ((table[p] || {}).street || 0);
        const share = all ? Math.round((1000 * online) / all) / 10 : null;
        rows.push([p, team, online, all, share === null ? "" : share]);
        return share;
      });
      return { label: team, values };
    });
    rows.sort((a, b) => a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
    draw(figure, labels, series, "%");
    setTable(figure, ["period", "team", "online", "all contacts", "online share %"], rows);
    figureMessage(figure, teams.length === MAX_TEAMS ? "The " + MAX_TEAMS + " teams with most contacts." : "");
  }

  async function loadDirection(figure) {
    const data = await apiGet("/v1/history/stats", statsParams("direction", state.filters.team));
    const table = byPeriod(data.buckets, (b) => b.key, (b) => b.contacts);
    const labels = state.periods;
    const inbound = labels.map((p) => (table[p] || {}).inbound || 0);
    const outbound = labels.map((p) => (table[p] || {}).outbound || 0);
    draw(figure, labels, [{ label: "inbound (listening)", values: inbound }, { label: "outbound (talking)", values: outbound }]);
    setTable(figure, ["period", "inbound", "outbound"], labels.map((p, i) => [p, inbound[i], outbound[i]]));
  }

  async function loadTopics(figure) {
    const data = await apiGet("/v1/history/stats", statsParams("topic", state.filters.team));
    const wanted = state.filters.topic;
    const buckets = data.buckets.filter((b) => !wanted || b.key === wanted);
    const topics = [...new Set(buckets.map((b) => b.key))].sort();
    const table = byPeriod(buckets, (b) => b.key, (b) => b.contacts);
    const labels = state.periods;
    const series = topics.map((topic) => ({ label: topic, values: labels.map((p) => (table[p] || {})[topic] || 0) }));
    draw(figure, labels, series);
    const rows = [];
    labels.forEach((p, i) => series.forEach((s) => { if (s.values[i]) rows.push([p, s.label, s.values[i]]); }));
    setTable(figure, ["period", "topic", "contacts"], rows);
  }

  const STAFF_KEYS = ["any", "street", "online", "online_outbound"];

  async function loadBreadth(figure) {
    const f = state.filters;
    const params = { from: f.from, to: f.to, group_by: f.grain };
    if (f.team) params.team = f.team;
    const data = await apiGet("/v1/history/engagement", params);
    const labels = state.periods;
    const sums = {};
    const rows = [];
    data.buckets.forEach((b) => {
      sums[b.period] = sums[b.period] || { any: 0, street: 0, online: 0, online_outbound: 0 };
      STAFF_KEYS.forEach((k) => { sums[b.period][k] += b.staff[k] || 0; });
      rows.push([b.period, b.team, "all"].concat(STAFF_KEYS.map((k) => b.staff[k] || 0)));
      Object.keys(b.by_role || {}).sort().forEach((role) => {
        rows.push([b.period, b.team, role].concat(STAFF_KEYS.map((k) => b.by_role[role][k] || 0)));
      });
    });
    const series = STAFF_KEYS.map((k) => ({ label: k.replace("_", " "), values: labels.map((p) => (sums[p] || {})[k] || 0) }));
    draw(figure, labels, series);
    setTable(figure, ["period", "team", "role", "any", "street", "online", "online outbound"], rows);
  }

  const CONVERSATION_COUNTS = [["opened", "opened"], ["answered", "answered"], ["closed", "closed"], ["waiting_over_24h", "waiting over 24 h"]];

  // Counts are summed over the teams shown per period (chart); the first-response median and p90
  // are per period and team (table): percentiles of different teams cannot be added up.
  async function loadConversations(figure) {
    const f = state.filters;
    const params = { from: f.from, to: f.to, group_by: f.grain };
    if (f.team) params.team = f.team;
    const data = await apiGet("/v1/history/conversations", params);
    const labels = state.periods;
    const sums = {};
    data.buckets.forEach((b) => {
      sums[b.period] = sums[b.period] || {};
      CONVERSATION_COUNTS.forEach(([k]) => { sums[b.period][k] = (sums[b.period][k] || 0) + b[k]; });
    });
    draw(figure, labels, CONVERSATION_COUNTS.map(([k, label]) => ({ label, values: labels.map((p) => (sums[p] || {})[k] || 0) })));
    const minutes = (v) => (v === null || v === undefined ? "" : v);
    setTable(figure, ["period", "team", "opened", "answered", "closed", "first response median (min)", "first response p90 (min)", "waiting over 24 h"],
      data.buckets.map((b) => [b.period, b.team, b.opened, b.answered, b.closed, minutes(b.first_response_minutes.median),
        minutes(b.first_response_minutes.p90), b.waiting_over_24h]));
    figureMessage(figure, data.buckets.length ? "" : "No conversations in this period.");
  }

  async function loadAlerts(figure) {
    const f = state.filters;
    const items = [];
    let cursor = null;
    do {
      const params = { from: f.from + "T00:00:00Z", to: f.to + "T23:59:59Z", limit: "200" };
      if (cursor) params.cursor = cursor;
      const page = await apiGet("/v1/history/alerts", params);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor && items.length < 2000);
    const shown = items.filter((a) => !f.team || a.team === f.team)
      .sort((a, b) => a.published_at.localeCompare(b.published_at) || a.id.localeCompare(b.id));
    const rate = (a) => (a.sent ? Math.round((1000 * a.read) / a.sent) / 10 : "");
    const labels = shown.map((a) => a.published_at.slice(0, 10));
    draw(figure, labels, ["targeted", "read", "responses"].map((k) => ({ label: k, values: shown.map((a) => a[k]) })));
    setTable(figure, ["published", "headline", "team", "targeted", "sent", "read", "read rate %", "responses"],
      shown.map((a) => [a.published_at, a.headline, a.team, a.targeted, a.sent, a.read, rate(a), a.responses]));
  }

  // --- the Guarantee panel (docs/guarantee.md) ---------------------------------------------
  // Conversation figures summed per team over the period; priorities and meetings from the public
  // neighbourhood routes of each of the team's named areas (GET /v1/areas gives each area's team).

  const GUARANTEE_SUMS = ["answered_waits", "within_standard", "past_standard", "past_standard_now", "escalated"];
  const MAX_AREAS = 200;

  async function publicGet(path, params) {
    const query = new URLSearchParams(params || {}).toString();
    const response = await fetch(BASE + path + (query ? "?" + query : ""), { headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new HttpError(response.status, body.detail || body.title);
    return body;
  }

  async function areasInScope(wanted) {
    const areas = [];
    let cursor = null;
    do {
      const params = { limit: "100" };
      if (cursor) params.cursor = cursor;
      const page = await publicGet("/v1/areas", params);
      areas.push(...page.items.filter((a) => !wanted || a.team === wanted));
      cursor = page.next_cursor;
    } while (cursor && areas.length < MAX_AREAS);
    return areas.slice(0, MAX_AREAS);
  }

  function emptyGuarantee() {
    const row = { overdue: 0, meetings: 0, attended: 0 };
    GUARANTEE_SUMS.forEach((k) => { row[k] = 0; });
    return row;
  }

  async function addAreaFigures(teams, area) {
    const f = state.filters;
    const [priorities, events] = await Promise.all([
      publicGet("/v1/areas/" + encodeURIComponent(area.id) + "/priorities"),
      publicGet("/v1/areas/" + encodeURIComponent(area.id) + "/events"),
    ]);
    const sums = teams[area.team] = teams[area.team] || emptyGuarantee();
    sums.overdue += priorities.items.filter((p) => p.review_overdue === true).length;
    events.items.filter((m) => m.attended !== null && m.start.slice(0, 10) >= f.from && m.start.slice(0, 10) <= f.to)
      .forEach((m) => { sums.meetings += 1; sums.attended += m.attended; });
  }

  async function loadGuarantee(figure) {
    const f = state.filters;
    const params = { from: f.from, to: f.to, group_by: f.grain };
    if (f.team) params.team = f.team;
    const [data, areas] = await Promise.all([apiGet("/v1/history/conversations", params), areasInScope(f.team)]);
    const teams = {};
    data.buckets.forEach((b) => {
      const sums = teams[b.team] = teams[b.team] || emptyGuarantee();
      GUARANTEE_SUMS.forEach((k) => { sums[k] += b[k] || 0; });
    });
    await Promise.all(areas.map((area) => addAreaFigures(teams, area)));
    const share = (s) => (s.answered_waits ? Math.round((1000 * s.within_standard) / s.answered_waits) / 10 : "");
    const rows = Object.keys(teams).sort().map((team) => {
      const s = teams[team];
      return [team, s.answered_waits, s.within_standard, share(s), s.past_standard, s.past_standard_now, s.escalated,
        s.overdue, s.meetings, s.attended];
    });
    draw(figure, [], []);
    setTable(figure, ["team", "answered waits", "within standard", "within standard %", "passed standard",
      "past standard now", "escalated", "priorities overdue for review", "meetings held", "attended"], rows);
    figureMessage(figure, rows.length ? (areas.length === MAX_AREAS ? "The first " + MAX_AREAS + " named areas." : "") : "No figures for this period.");
  }

  // --- flow -------------------------------------------------------------------------------

  function isForceWide() {
    return (state.claims.roles || []).some((r) => r === "analyst" || r === "admin" || r === "leader");
  }

  function readFilters() {
    state.filters = { from: $("from").value, to: $("to").value, grain: $("grain").value, team: $("team").value, topic: $("topic").value };
    state.periods = periods(state.filters.from, state.filters.to, state.filters.grain);
  }

  async function loadFigure(figure) {
    const access = state.api(figure.route);
    if (access === "missing") return unavailable(figure, "Not available yet: the API does not offer these figures yet.");
    if (access === "forbidden") return unavailable(figure, "Not available for your role.");
    figureMessage(figure, "Loading ...");
    try {
      await figure.load(figure);
      figureMessage(figure, $("fig-" + figure.id).querySelector(".figure-status").textContent.replace("Loading ...", ""));
    } catch (error) {
      if (error.status === 404) return unavailable(figure, "Not available yet.");
      if (error.status === 403) return unavailable(figure, "Not available for your role.");
      unavailable(figure, "Could not load: " + error.message);
    }
  }

  async function refresh() {
    readFilters();
    if (state.filters.from > state.filters.to) return status("`From` must not be after `To`.");
    status("Loading figures ...");
    state.tables = {};
    await Promise.all(FIGURES.map(loadFigure));
    status("Figures for " + state.filters.from + " to " + state.filters.to + " by " + state.filters.grain + (state.filters.team ? ", team " + state.filters.team : "") + ".");
    document.body.dataset.loaded = String(Date.now());
  }

  async function fillFilterChoices() {
    state.topics.filter((t) => t !== null).forEach((t) => $("topic").add(new Option(t.replace(/_/g, " "), t)));
    if (!isForceWide()) {
      $("team").replaceChildren(new Option(state.claims.team, state.claims.team));
      $("team").disabled = true;
      return;
    }
    const data = await apiGet("/v1/history/stats", { from: $("from").value, to: $("to").value, group_by: "month", by: "team" });
    [...new Set(data.buckets.map((b) => b.key))].sort().forEach((t) => $("team").add(new Option(t, t)));
  }

  async function showBoard() {
    show("purpose-step", false);
    show("board", true);
    $("purpose-shown").textContent = sessionStorage.getItem(PURPOSE_KEY);
    const to = new Date();
    const from = new Date(to.getTime() - 83 * 86400000);
    $("to").value = $("to").value || isoDay(to);
    $("from").value = $("from").value || isoDay(from);
    if (!$("figures").childElementCount) {
      FIGURES.forEach((f) => $("figures").appendChild(buildFigure(f)));
      await fillFilterChoices();
    }
    await refresh();
  }

  function askPurpose() {
    show("board", false);
    show("purpose-step", true);
    $("purpose").value = sessionStorage.getItem(PURPOSE_KEY) || "";
    $("purpose").focus();
  }

  async function signOut(message) {
    await state.manager.removeUser();
    await state.manager.clearStaleState();
    sessionStorage.removeItem(PURPOSE_KEY);
    state.user = null;
    Object.keys(state.charts).forEach((k) => delete state.charts[k]);
    $("figures").replaceChildren();
    ["board", "purpose-step", "sign-out"].forEach((id) => show(id, false));
    $("who").textContent = "";
    show("signin", true);
    status(message || "Signed out.");
  }

  function whoText() {
    const c = state.claims;
    return "Signed in as " + c.sub + " (" + (c.roles || []).join(", ") + (c.team ? ", team " + c.team : "") + ")";
  }

  async function start() {
    const response = await fetch(BASE + "/dashboard/config.json");
    state.config = await response.json();
    const redirect = window.location.origin + state.config.redirect_path;
    state.manager = new window.oidc.UserManager({
      authority: state.config.issuer, client_id: state.config.client_id, scope: state.config.scope,
      redirect_uri: redirect, post_logout_redirect_uri: redirect, response_type: "code",
      userStore: new window.oidc.WebStorageStateStore({ store: window.sessionStorage }),
      stateStore: new window.oidc.WebStorageStateStore({ store: window.sessionStorage }),
      automaticSilentRenew: false, monitorSession: false, loadUserInfo: false,
    });
    const params = new URLSearchParams(window.location.search);
    if (params.has("code") || params.has("error")) {
      try {
        await state.manager.signinRedirectCallback();
      } catch (error) {
        status("Sign-in failed: " + error.message);
      }
      window.history.replaceState(null, "", state.config.redirect_path);
    }
    state.user = await state.manager.getUser();
    if (!state.user || state.user.expired) return show("signin", true);
    state.claims = decodeClaims(state.user.access_token);
    $("who").textContent = whoText();
    show("sign-out", true);
    const openapi = await (await fetch(BASE + "/v1/openapi.json", { headers: { Accept: "application/json" } })).json();
    state.api = apiIndex(openapi);
    state.topics = topicsOf(openapi);
    if (!sessionStorage.getItem(PURPOSE_KEY)) return askPurpose();
    await showBoard();
  }

  function wire() {
    $("sign-in").addEventListener("click", () => state.manager.signinRedirect());
    $("sign-out").addEventListener("click", () => signOut());
    $("change-purpose").addEventListener("click", askPurpose);
    $("purpose-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const value = $("purpose").value.trim();
      if (value.length < 3) return status("Please write at least 3 characters.");
      sessionStorage.setItem(PURPOSE_KEY, value);
      showBoard().catch((e) => status("Could not load: " + e.message));
    });
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      refresh().catch((e) => status("Could not load: " + e.message));
    });
  }

  wire();
  start().catch((error) => status("The dashboard could not start: " + error.message));
})();
