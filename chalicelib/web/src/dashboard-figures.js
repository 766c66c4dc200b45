// The dashboard's figures: each drawn with uPlot (a classic script: window.uPlot) from the API's
// numbers, shown as a table of exactly those numbers, and downloadable as CSV of that table.
// Every loader gets the page's context: ctx.get (history reads with the session's purpose),
// ctx.publicGet, ctx.filters, ctx.periods, ctx.label(list, code) and the role tests.
import { $, el } from "./dom.js";
import { download, toCsv } from "./dashboard-csv.js";

const MAX_TEAMS = 10;
const COLOURS = ["#0b3d6e", "#d4351c", "#00703c", "#6f3c97", "#b58840", "#005ea5", "#912b88", "#28a197", "#6b7280", "#f47738"];
const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
const NUMBER = /^-?\d+(\.\d+)?%?$/;

export const FIGURES = [
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

export function buildFigure(ctx, figure) {
  const id = "fig-" + figure.id;
  const csv = el("button", { type: "button", class: "csv", disabled: true, "aria-label": "Download CSV: " + figure.title, text: "Download CSV" });
  csv.addEventListener("click", () => {
    const table = ctx.tables[figure.id];
    if (table) download(figure.id + "_" + ctx.filters.from + "_" + ctx.filters.to + ".csv", toCsv(table.columns, table.rows));
  });
  const table = el("table", {}, el("caption", { id: id + "-caption", text: figure.title + ": the numbers" }), el("thead"), el("tbody"));
  return el("section", { class: "figure", id, "aria-labelledby": id + "-title" },
    el("h2", { id: id + "-title", text: figure.title }),
    el("p", { class: "desc", text: figure.desc }),
    el("p", { class: "figure-status", role: "status" }),
    el("div", { class: "plot", "aria-hidden": "true" }),
    el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": id + "-caption" }, table),
    csv);
}

// A column is numeric when every cell that is not empty is a number: numbers and their header are
// right-aligned (so digits line up under the header), text left-aligned.
export function numericColumns(columns, rows) {
  return columns.map((_, i) => rows.some((r) => r[i] !== "" && r[i] !== null && r[i] !== undefined)
    && rows.every((r) => r[i] === "" || r[i] === null || r[i] === undefined || NUMBER.test(String(r[i]))));
}

export function fillTable(table, columns, rows) {
  const numeric = numericColumns(columns, rows);
  const cell = (tag, value, i, extra) => el(tag, { class: numeric[i] ? "num" : "text", ...extra, text: value === null || value === undefined ? "" : String(value) });
  table.querySelector("thead").replaceChildren(el("tr", {}, columns.map((c, i) => cell("th", c, i, { scope: "col" }))));
  table.querySelector("tbody").replaceChildren(...rows.map((r) => el("tr", {}, r.map((v, i) => (i === 0 ? cell("th", v, i, { scope: "row" }) : cell("td", v, i))))));
}

function setTable(ctx, figure, columns, rows) {
  ctx.tables[figure.id] = { title: figure.title, columns, rows };
  const section = $("fig-" + figure.id);
  fillTable(section.querySelector(".table-wrap table"), columns, rows);
  section.querySelector(".csv").disabled = rows.length === 0;
  section.querySelector(".csv").hidden = false;
  section.querySelector(".table-wrap").hidden = false;
}

export function figureMessage(figure, text) {
  $("fig-" + figure.id).querySelector(".figure-status").textContent = text;
}

export function unavailable(ctx, figure, text) {
  const section = $("fig-" + figure.id);
  section.querySelector(".plot").replaceChildren();
  section.querySelector(".table-wrap").hidden = true;
  section.querySelector(".csv").hidden = true;
  ctx.tables[figure.id] = null;
  ctx.charts[figure.id] = { unavailable: text };
  figureMessage(figure, text);
}

// Room for the longest tick label (uPlot clips what does not fit in an axis' `size`).
function axisSize(font) {
  return (u, values) => {
    if (!values) return 50;
    const longest = Math.max(0, ...values.map((v) => String(v).length));
    return Math.ceil(16 + longest * font);
  };
}

// labels: x labels; series: [{label, values}]
function draw(ctx, figure, labels, series, unit) {
  const plot = $("fig-" + figure.id).querySelector(".plot");
  ctx.charts[figure.id] = { labels, series: series.map((s) => ({ label: s.label, values: s.values })) };
  plot.replaceChildren();
  if (!labels.length || !series.length) return;
  const xs = labels.map((_, i) => i);
  const options = {
    width: Math.max(320, Math.min(plot.clientWidth || 900, 1150)),
    height: 260,
    padding: [12, 40, 0, 0], // room on the right for the last period's label (else clipped)
    scales: { x: { time: false } },
    axes: [
      { values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? labels[i] || "" : "")), space: 90, size: 40,
        incrs: [1, 2, 4, 8, 13, 26, 52] },
      { values: (u, splits) => splits.map((v) => v + (unit || "")), size: axisSize(8) },
    ],
    series: [{ label: "period", value: (u, i) => (i === null ? "" : labels[i]) }].concat(series.map((s, i) => ({
      label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, dash: DASHES[i % DASHES.length],
      points: { show: true, size: 5 },
    }))),
  };
  ctx.plots[figure.id] = new window.uPlot(options, [xs, ...series.map((s) => s.values)], plot);
}

// Printing: each chart redrawn at the width of an A4 page (labels at their real size), then back.
export function sizeForPrint(ctx, printing) {
  for (const [id, chart] of Object.entries(ctx.plots)) {
    const plot = $("fig-" + id) && $("fig-" + id).querySelector(".plot");
    if (!plot || !plot.contains(chart.root)) continue;
    chart.setSize(printing ? { width: 680, height: 220 } : { width: Math.max(320, Math.min(plot.clientWidth || 900, 1150)), height: 260 });
  }
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

export function rangeParams(ctx, extra) {
  const f = ctx.filters;
  const params = { from: f.from, to: f.to, group_by: f.grain, ...extra };
  if (f.team && !("team" in (extra || {}))) params.team = f.team;
  return params;
}

function statsParams(ctx, by, team) {
  const f = ctx.filters;
  const params = { from: f.from, to: f.to, group_by: f.grain, by };
  if (team) params.team = team;
  return params;
}

async function loadContacts(ctx, figure) {
  const data = await ctx.get("/v1/history/stats", statsParams(ctx, "kind", ctx.filters.team));
  const table = byPeriod(data.buckets, (b) => b.key, (b) => b.contacts);
  const labels = ctx.periods;
  const street = labels.map((p) => (table[p] || {}).street || 0);
  const online = labels.map((p) => (table[p] || {}).online || 0);
  draw(ctx, figure, labels, [{ label: "street", values: street }, { label: "online", values: online }]);
  setTable(ctx, figure, ["period", "street", "online", "total"], labels.map((p, i) => [p, street[i], online[i], street[i] + online[i]]));
}

async function teamsInScope(ctx) {
  if (ctx.filters.team) return [ctx.filters.team];
  if (!ctx.isForceWide()) return [ctx.claims.team];
  const data = await ctx.get("/v1/history/stats", statsParams(ctx, "team"));
  const totals = {};
  data.buckets.forEach((b) => { totals[b.key] = (totals[b.key] || 0) + b.contacts; });
  return Object.keys(totals).sort((a, b) => totals[b] - totals[a] || a.localeCompare(b)).slice(0, MAX_TEAMS).sort();
}

async function loadOnlineShare(ctx, figure) {
  const teams = await teamsInScope(ctx);
  const results = await Promise.all(teams.map((team) => ctx.get("/v1/history/stats", statsParams(ctx, "kind", team))));
  const labels = ctx.periods;
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
  draw(ctx, figure, labels, series, "%");
  setTable(ctx, figure, ["period", "team", "online", "all contacts", "online share %"], rows);
  figureMessage(figure, teams.length === MAX_TEAMS ? "The " + MAX_TEAMS + " teams with most contacts." : "");
}

async function loadDirection(ctx, figure) {
  const data = await ctx.get("/v1/history/stats", statsParams(ctx, "direction", ctx.filters.team));
  const table = byPeriod(data.buckets, (b) => b.key, (b) => b.contacts);
  const labels = ctx.periods;
  const inbound = labels.map((p) => (table[p] || {}).inbound || 0);
  const outbound = labels.map((p) => (table[p] || {}).outbound || 0);
  draw(ctx, figure, labels, [{ label: "inbound (listening)", values: inbound }, { label: "outbound (talking)", values: outbound }]);
  setTable(ctx, figure, ["period", "inbound", "outbound"], labels.map((p, i) => [p, inbound[i], outbound[i]]));
}

async function loadTopics(ctx, figure) {
  const data = await ctx.get("/v1/history/stats", statsParams(ctx, "topic", ctx.filters.team));
  const wanted = ctx.filters.topic;
  const buckets = data.buckets.filter((b) => !wanted || b.key === wanted);
  const topics = [...new Set(buckets.map((b) => b.key))].sort();
  const table = byPeriod(buckets, (b) => b.key, (b) => b.contacts);
  const labels = ctx.periods;
  const series = topics.map((topic) => ({ label: ctx.label("topic", topic), values: labels.map((p) => (table[p] || {})[topic] || 0) }));
  draw(ctx, figure, labels, series);
  const rows = [];
  labels.forEach((p, i) => series.forEach((s) => { if (s.values[i]) rows.push([p, s.label, s.values[i]]); }));
  setTable(ctx, figure, ["period", "topic", "contacts"], rows);
}

const STAFF_KEYS = ["any", "street", "online", "online_outbound"];

async function loadBreadth(ctx, figure) {
  const data = await ctx.get("/v1/history/engagement", rangeParams(ctx));
  const labels = ctx.periods;
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
  draw(ctx, figure, labels, series);
  setTable(ctx, figure, ["period", "team", "role", "any", "street", "online", "online outbound"], rows);
}

const CONVERSATION_COUNTS = [["opened", "opened"], ["answered", "answered"], ["closed", "closed"], ["waiting_over_24h", "waiting over 24 h"]];

// Counts are summed over the teams shown per period (chart); the first-response median and p90
// are per period and team (table): percentiles of different teams cannot be added up.
async function loadConversations(ctx, figure) {
  const data = await ctx.get("/v1/history/conversations", rangeParams(ctx));
  const labels = ctx.periods;
  const sums = {};
  data.buckets.forEach((b) => {
    sums[b.period] = sums[b.period] || {};
    CONVERSATION_COUNTS.forEach(([k]) => { sums[b.period][k] = (sums[b.period][k] || 0) + b[k]; });
  });
  draw(ctx, figure, labels, CONVERSATION_COUNTS.map(([k, label]) => ({ label, values: labels.map((p) => (sums[p] || {})[k] || 0) })));
  const minutes = (v) => (v === null || v === undefined ? "" : v);
  setTable(ctx, figure, ["period", "team", "opened", "answered", "closed", "first response median (min)", "first response p90 (min)", "waiting over 24 h"],
    data.buckets.map((b) => [b.period, b.team, b.opened, b.answered, b.closed, minutes(b.first_response_minutes.median),
      minutes(b.first_response_minutes.p90), b.waiting_over_24h]));
  figureMessage(figure, data.buckets.length ? "" : "No conversations in this period.");
}

// Leaders see figures, never texts: their alert table has no headline.
async function loadAlerts(ctx, figure) {
  const f = ctx.filters;
  const items = [];
  let cursor = null;
  do {
    const params = { from: f.from + "T00:00:00Z", to: f.to + "T23:59:59Z", limit: "200" };
    if (cursor) params.cursor = cursor;
    const page = await ctx.get("/v1/history/alerts", params);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < 2000);
  const shown = items.filter((a) => !f.team || a.team === f.team)
    .sort((a, b) => a.published_at.localeCompare(b.published_at) || a.id.localeCompare(b.id));
  const rate = (a) => (a.sent ? Math.round((1000 * a.read) / a.sent) / 10 : "");
  const labels = shown.map((a) => a.published_at.slice(0, 10));
  draw(ctx, figure, labels, ["targeted", "read", "responses"].map((k) => ({ label: k, values: shown.map((a) => a[k]) })));
  const texts = !ctx.isLeaderOnly();
  setTable(ctx, figure, ["published", ...(texts ? ["headline"] : []), "team", "targeted", "sent", "read", "read rate %", "responses"],
    shown.map((a) => [a.published_at, ...(texts ? [a.headline] : []), a.team, a.targeted, a.sent, a.read, rate(a), a.responses]));
}

// --- the Guarantee panel (docs/guarantee.md) ---------------------------------------------
// Conversation figures summed per team over the period; priorities and meetings from the public
// neighbourhood routes of each of the team's named areas (GET /v1/areas gives each area's team).

const GUARANTEE_SUMS = ["answered_waits", "within_standard", "past_standard", "past_standard_now", "escalated"];
const MAX_AREAS = 200;

async function areasInScope(ctx, wanted) {
  const areas = [];
  let cursor = null;
  do {
    const params = { limit: "100" };
    if (cursor) params.cursor = cursor;
    const page = await ctx.publicGet("/v1/areas", params);
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

async function addAreaFigures(ctx, teams, area) {
  const f = ctx.filters;
  const [priorities, events] = await Promise.all([
    ctx.publicGet("/v1/areas/" + encodeURIComponent(area.id) + "/priorities"),
    ctx.publicGet("/v1/areas/" + encodeURIComponent(area.id) + "/events"),
  ]);
  const sums = teams[area.team] = teams[area.team] || emptyGuarantee();
  sums.overdue += priorities.items.filter((p) => p.review_overdue === true).length;
  events.items.filter((m) => m.attended !== null && m.start.slice(0, 10) >= f.from && m.start.slice(0, 10) <= f.to)
    .forEach((m) => { sums.meetings += 1; sums.attended += m.attended; });
}

async function loadGuarantee(ctx, figure) {
  const [data, areas] = await Promise.all([ctx.get("/v1/history/conversations", rangeParams(ctx)), areasInScope(ctx, ctx.filters.team)]);
  const teams = {};
  data.buckets.forEach((b) => {
    const sums = teams[b.team] = teams[b.team] || emptyGuarantee();
    GUARANTEE_SUMS.forEach((k) => { sums[k] += b[k] || 0; });
  });
  await Promise.all(areas.map((area) => addAreaFigures(ctx, teams, area)));
  const share = (s) => (s.answered_waits ? Math.round((1000 * s.within_standard) / s.answered_waits) / 10 : "");
  const rows = Object.keys(teams).sort().map((team) => {
    const s = teams[team];
    return [team, s.answered_waits, s.within_standard, share(s), s.past_standard, s.past_standard_now, s.escalated,
      s.overdue, s.meetings, s.attended];
  });
  draw(ctx, figure, [], []);
  setTable(ctx, figure, ["team", "answered waits", "within standard", "within standard %", "passed standard",
    "past standard now", "escalated", "priorities overdue for review", "meetings held", "attended"], rows);
  figureMessage(figure, rows.length ? (areas.length === MAX_AREAS ? "The first " + MAX_AREAS + " named areas." : "") : "No figures for this period.");
}
