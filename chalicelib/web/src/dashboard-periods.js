// Periods of the dashboard (UTC days, ISO weeks, months) and the period before the chosen one.
const DAY = 86400000;

export function isoDay(date) { return date.toISOString().slice(0, 10); }

export function isoWeek(day) {
  const d = new Date(day + "T00:00:00Z");
  const weekday = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - weekday + 3); // the Thursday of this ISO week
  const year = d.getUTCFullYear();
  const firstThursday = new Date(Date.UTC(year, 0, 4));
  firstThursday.setUTCDate(firstThursday.getUTCDate() - ((firstThursday.getUTCDay() + 6) % 7) + 3);
  const week = 1 + Math.round((d - firstThursday) / (7 * DAY));
  return year + "-W" + String(week).padStart(2, "0");
}

export function periodOf(day, grain) {
  if (grain === "day") return day;
  if (grain === "month") return day.slice(0, 7);
  return isoWeek(day);
}

// Every period between the two days at the grain, so empty periods show as 0.
export function periods(from, to, grain) {
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

// The first day of the period (day, ISO week, month) that holds `day`.
export function periodStart(day, grain) {
  if (grain === "month") return day.slice(0, 8) + "01";
  if (grain === "day") return day;
  const d = new Date(day + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return isoDay(d);
}

// The comparison: as many whole periods as the range touches, just before its first period. The
// API answers whole periods (a range from a Wednesday reads the whole ISO week), so the previous
// range starts where the range's first period starts, never inside it.
export function previousRange(from, to, grain) {
  const count = periods(from, to, grain).length;
  const start = new Date(periodStart(from, grain) + "T00:00:00Z");
  const end = new Date(start.getTime() - DAY);
  if (grain === "month") start.setUTCMonth(start.getUTCMonth() - count);
  else start.setUTCDate(start.getUTCDate() - count * (grain === "week" ? 7 : 1));
  return { from: isoDay(start), to: isoDay(end) };
}

export function daysBetween(fromDay, toDate) {
  return Math.floor((toDate.getTime() - new Date(fromDay + "T00:00:00Z").getTime()) / DAY);
}
