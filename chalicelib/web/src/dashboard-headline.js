// The headline numbers of the chosen period against the one before it (as many whole periods, just
// before its first): share of strength engaging (any, street, online, online outbound; by rank in a table),
// conversations waiting now and the oldest wait, the share answered within the response standard,
// and residents' satisfaction and confidence with their 95% intervals (GET /v1/history/trust).
import { $, el } from "./dom.js";
import { ApiError } from "./api.js";
import { daysBetween, periods, previousRange } from "./dashboard-periods.js";
import { fillTable } from "./dashboard-figures.js";

const KEYS = ["any", "street", "online", "online_outbound"];
const ENGAGING = {
  any: "Strength engaging", street: "Strength engaging on the street", online: "Strength engaging online",
  online_outbound: "Strength reaching out online",
};
const MIN_ANSWERS = 10; // the contract withholds fewer; so do we when adding periods up

// The API has a bucket only where someone engaged: a period of the range without one, for a team
// that has buckets, counts with no one engaged and the strength of that team's nearest bucket
// (the latest before it, else the first after it). A team with no contact at all in the range has
// no bucket to take its strength from and is left out (docs/web.md).
export function withQuietPeriods(buckets, periodList) {
  const byTeam = {};
  buckets.filter((b) => b.strength).forEach((b) => { (byTeam[b.team] = byTeam[b.team] || []).push(b); });
  const out = [...buckets];
  for (const [team, own] of Object.entries(byTeam)) {
    own.sort((a, b) => a.period.localeCompare(b.period));
    const seen = new Set(buckets.filter((b) => b.team === team).map((b) => b.period));
    for (const period of periodList.filter((p) => !seen.has(p))) {
      const near = [...own].reverse().find((b) => b.period < period) || own[0];
      out.push({ period, team, strength: near.strength, by_rank: {}, quiet: true });
    }
  }
  return out;
}

// Staff-periods: for each bucket (period x team) and rank with a recorded strength, the distinct
// staff of that rank who engaged over the people of that rank, added up over the buckets.
export function strengthShares(buckets) {
  const ranks = {};
  for (const b of buckets) {
    for (const [rank, people] of Object.entries(b.strength || {})) {
      if (!people) continue;
      const row = ranks[rank] = ranks[rank] || { strength: 0, any: 0, street: 0, online: 0, online_outbound: 0 };
      row.strength += people;
      const engaged = (b.by_rank || {})[rank] || {};
      KEYS.forEach((k) => { row[k] += engaged[k] || 0; });
    }
  }
  const total = { strength: 0, any: 0, street: 0, online: 0, online_outbound: 0 };
  Object.values(ranks).forEach((row) => { ["strength", ...KEYS].forEach((k) => { total[k] += row[k]; }); });
  const share = (row, k) => (row.strength ? row[k] / row.strength : null);
  return { ranks, total, share };
}

// The Wilson score interval for k successes of n at 95%.
export function wilson(k, n) {
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

// One trust measure (`satisfaction` or `confidence`) from GET /v1/history/trust (docs/history.md,
// "Residents' trust"): the team-level buckets (`area_id: null`; area buckets are parts of them),
// each measure `{withheld, n, favourable: {share, low, high}}`. One published bucket: its own share
// and interval; several: the favourable answers (share x n) added up and the Wilson interval
// recomputed; withheld buckets are left out (said in the note); under 10 answers: not enough.
export function trustMeasure(data, name) {
  const parts = (data.buckets || []).filter((b) => b.area_id === null || b.area_id === undefined).map((b) => b[name]).filter(Boolean);
  const usable = parts.filter((m) => !m.withheld && m.n && m.favourable);
  const withheld = parts.length - usable.length;
  const answers = usable.reduce((sum, m) => sum + m.n, 0);
  if (answers < MIN_ANSWERS) return { share: null, answers, withheld };
  if (usable.length === 1) {
    const f = usable[0].favourable;
    return { share: f.share, low: f.low, high: f.high, answers, withheld };
  }
  const favourable = usable.reduce((sum, m) => sum + Math.round(m.favourable.share * m.n), 0);
  const [low, high] = wilson(favourable, answers);
  return { share: favourable / answers, low, high, answers, withheld };
}

const percent = (v) => (v === null || v === undefined ? "" : (Math.round(v * 1000) / 10).toFixed(1) + "%");

async function optional(read) {
  try {
    return { data: await read() };
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 403)) return { missing: error.status };
    throw error;
  }
}

function engagementRows(current, previous, grain, periodsNow, periodsBefore) {
  const now = strengthShares(withQuietPeriods(current.buckets, periodsNow));
  const before = strengthShares(withQuietPeriods(previous.buckets, periodsBefore));
  const none = !now.total.strength;
  const rows = KEYS.map((k) => ({
    id: "engaging-" + k, measure: ENGAGING[k], current: now.share(now.total, k), previous: before.share(before.total, k),
    text: none ? "No strength recorded" : percent(now.share(now.total, k)), previousText: percent(before.share(before.total, k)),
    note: none ? "An admin records each team's strength (PUT /v1/teams/{team}/strength)."
      : now.total[k] + " of " + now.total.strength + " staff-" + grain + "s",
  }));
  return { rows, ranks: now };
}

function waitingRow(answer) {
  if (answer.missing) return { id: "waiting", measure: "Waiting for an answer now", current: null, previous: null, text: "Not available", previousText: "", note: "" };
  const w = answer.data;
  const days = w.oldest_waiting_since ? daysBetween(w.oldest_waiting_since, new Date(w.as_of)) : null;
  return {
    id: "waiting", measure: "Waiting for an answer now", current: w.waiting, previous: null, text: String(w.waiting), previousText: "",
    oldest: w.oldest_waiting_since,
    note: w.oldest_waiting_since ? "Oldest wait began " + w.oldest_waiting_since + " (" + days + (days === 1 ? " day" : " days") + " ago)" : "Nobody waiting",
  };
}

function standardShare(data) {
  const sum = (k) => data.buckets.reduce((s, b) => s + (b[k] || 0), 0);
  const answered = sum("answered_waits");
  return { share: answered ? sum("within_standard") / answered : null, within: sum("within_standard"), answered };
}

function standardRow(current, previous) {
  const now = standardShare(current);
  const before = standardShare(previous);
  return {
    id: "within-standard", measure: "Answered within the response standard", current: now.share, previous: before.share,
    text: now.share === null ? "No waits answered" : percent(now.share), previousText: percent(before.share),
    note: now.within + " of " + now.answered + " waits answered",
  };
}

// --- residents' trust: ended and settled calendar months only ---------------------------------
// The API publishes a month once it has ended and settled (docs/history.md, "Ended and settled
// months only"): `published_through` is the latest such month, `unpublished` the range's others.

// "2026-10" -> "October 2026"; "2026-12-02T00:00:00Z" -> "2 December 2026" (UTC, as the API counts).
export function monthName(period) {
  const [year, month] = period.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, 1)).toLocaleDateString("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
}
const dayName = (moment) => new Date(moment).toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

export function shiftMonth(period, count) {
  const [year, month] = period.split("-").map(Number);
  const index = year * 12 + month - 1 + count;
  return Math.floor(index / 12) + "-" + String((index % 12) + 1).padStart(2, "0");
}

const monthsFrom = (first, count) => Array.from({ length: count }, (_, i) => shiftMonth(first, i));
const lastDay = (period) => { const [y, m] = period.split("-").map(Number); return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10); };
const monthsLabel = (months) => (months.length === 1 ? monthName(months[0]) : monthName(months[0]) + " to " + monthName(months[months.length - 1]));

// The months the trust tiles show: the range's months that are published; when none is, the latest
// published month alone; against as many months just before them. `kind` says which ("range":
// all of the range, "ended": its complete months, "latest": the latest complete month).
export function trustMonths(rangeMonths, publishedThrough) {
  const ended = rangeMonths.filter((m) => m <= publishedThrough);
  const shown = ended.length ? ended : [publishedThrough];
  const kind = ended.length === rangeMonths.length ? "range" : ended.length ? "ended" : "latest";
  return { shown, before: monthsFrom(shiftMonth(shown[0], -shown.length), shown.length), kind };
}

// One read of the range's months and as many before, and two more (the latest complete month and the
// one before it, when the range has none ended, are then in it); a second read only when they are not.
const TRUST_SLACK = 2;

function trustWindow(rangeMonths) {
  return { first: shiftMonth(rangeMonths[0], -(rangeMonths.length + TRUST_SLACK)), last: rangeMonths[rangeMonths.length - 1] };
}

function trustRead(ctx, team, first, last) {
  return optional(() => ctx.get("/v1/history/trust", { from: first + "-01", to: lastDay(last), group_by: "month", ...(team ? { team } : {}) }));
}

async function trustFigures(ctx, answer, rangeMonths, team, windowFirst) {
  if (answer.missing) return answer;
  const last = rangeMonths[rangeMonths.length - 1];
  const months = trustMonths(rangeMonths, answer.data.published_through || last);
  let data = answer.data;
  if (months.before[0] < windowFirst) {
    const more = await trustRead(ctx, team, months.before[0], months.shown[months.shown.length - 1]);
    if (more.missing) return more;
    data = more.data;
  }
  const only = (list) => ({ buckets: (data.buckets || []).filter((b) => list.includes(b.period)) });
  const pending = (answer.data.unpublished || []).filter((m) => rangeMonths.includes(m.period) && m.reason !== "not_started");
  return { data: { months, pending, now: only(months.shown), before: only(months.before) } };
}

// "Trust figures: October 2026, the latest complete month." and why the range's later months are not shown.
export function trustMonthsText(months, pending) {
  const says = { range: "", ended: months.shown.length === 1 ? ", the complete month of this range" : ", the complete months of this range", latest: months.shown.length === 1 ? ", the latest complete month" : ", the latest complete months" };
  const waiting = pending.map((m) => " " + monthName(m.period) + (m.reason === "settling" ? " has ended; its figures are published on " : " is in progress; its figures are published on ")
    + dayName(m.published_from) + ", when late answers have landed.");
  return "Trust figures: " + monthsLabel(months.shown) + says[months.kind] + "." + waiting.join("")
    + " Published by whole calendar month, once the month has ended; compared with " + monthsLabel(months.before) + ".";
}

function trustRow(id, measure, view) {
  if (view.missing) return { id, measure, current: null, previous: null, text: "Not available", previousText: "", note: "Residents' trust figures are not available to this account or this API." };
  const { months, pending } = view.data;
  const now = trustMeasure(view.data.now, id);
  const before = trustMeasure(view.data.before, id);
  const enough = now.share !== null && now.share !== undefined;
  return {
    id, measure, current: enough ? now.share : null, previous: before.share ?? null, low: now.low, high: now.high,
    months: months.shown, monthsBefore: months.before,
    text: enough ? percent(now.share) : "Not enough answers", previousText: before.share === null || before.share === undefined ? "" : percent(before.share),
    note: trustMonthsText(months, pending) + " "
      + (enough ? "95% interval " + percent(now.low) + " to " + percent(now.high) + "; " + now.answers + " answers"
        + (now.withheld ? " (" + now.withheld + " months or teams withheld and left out)" : "") + "."
      : "Fewer than " + MIN_ANSWERS + " answers: withheld so no small group can be singled out."),
  };
}

export async function loadHeadline(ctx) {
  const f = ctx.filters;
  const before = previousRange(f.from, f.to, f.grain);
  const params = (range) => ({ from: range.from, to: range.to, group_by: f.grain, ...(f.team ? { team: f.team } : {}) });
  // Trust is published by calendar month only, once the month has ended and settled (docs/history.md,
  // "Residents' trust"): the range's complete months (or the latest complete one), against as many before.
  const rangeMonths = periods(f.from, f.to, "month");
  const span = trustWindow(rangeMonths);
  const trustRoute = ctx.routes("GET", "/v1/history/trust");
  const [engagement, engagementBefore, conversations, conversationsBefore, waiting, trustAnswer] = await Promise.all([
    ctx.get("/v1/history/engagement", params(f)), ctx.get("/v1/history/engagement", params(before)),
    ctx.get("/v1/history/conversations", params(f)), ctx.get("/v1/history/conversations", params(before)),
    optional(() => ctx.get("/v1/history/waiting", f.team ? { team: f.team } : {})),
    trustRoute ? trustRead(ctx, f.team, span.first, span.last) : { missing: 404 },
  ]);
  const trust = await trustFigures(ctx, trustAnswer, rangeMonths, f.team, span.first);
  const engaged = engagementRows(engagement, engagementBefore, f.grain, ctx.periods, periods(before.from, before.to, f.grain));
  const rows = [...engaged.rows, waitingRow(waiting), standardRow(conversations, conversationsBefore),
    trustRow("satisfaction", "Residents satisfied with the answer (4 or 5 of 5)", trust),
    trustRow("confidence", "Residents' confidence: the police do a good or excellent job", trust)];
  render(ctx, rows, engaged.ranks, before);
}

function render(ctx, rows, ranks, before) {
  const f = ctx.filters;
  $("headline-desc").textContent = "For " + f.from + " to " + f.to + (f.team ? ", team " + f.team : ", all teams") + ", against "
    + before.from + " to " + before.to + " (the same number of whole " + f.grain + "s just before). Shares of strength are staff-" + f.grain + "s: for each " + f.grain
    + " and team, the staff of a rank who logged at least one contact over that rank's recorded strength, added up (ranks with no recorded strength, and teams with no contact at all in the range, are left out).";
  $("headline-tiles").replaceChildren(...rows.map((r) => el("div", { class: "tile", id: "tile-" + r.id },
    el("h3", { text: r.measure }),
    el("p", { class: "value", text: r.text }),
    el("p", { class: "previous", text: r.previousText ? "Previous period: " + r.previousText : r.id === "waiting" ? "Now, whatever the period" : "Previous period: none" }),
    el("p", { class: "tile-note", text: r.note }))));
  const rankRows = Object.keys(ranks.ranks).sort().map((rank) => {
    const row = ranks.ranks[rank];
    return [ctx.label("rank", rank), row.strength, ...KEYS.map((k) => percent(ranks.share(row, k)))];
  });
  const columns = ["rank", "strength (staff-" + f.grain + "s)", "any %", "street %", "online %", "online outbound %"];
  $("ranks-wrap").hidden = rankRows.length === 0;
  fillTable($("ranks-table"), columns, rankRows);
  const columnsHeadline = ["measure", "this period", "previous period", "note"];
  ctx.tables.headline = { title: "The period at a glance", columns: columnsHeadline, rows: rows.map((r) => [r.measure, r.text, r.previousText, r.note]) };
  ctx.tables.ranks = rankRows.length ? { title: "Share of strength engaging, by rank", columns, rows: rankRows } : null;
  window.beatlineHeadline = { rows: rows.map(({ id, measure, current, previous, low, high, text, oldest, months, monthsBefore }) => ({ id, measure, current, previous, low, high, text, oldest, months, monthsBefore })) };
}
