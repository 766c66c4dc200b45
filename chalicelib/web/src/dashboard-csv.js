// CSV of the dashboard (RFC 4180): each table as shown, and one file of everything shown.
// Spreadsheet formula injection: a cell a spreadsheet could evaluate gets a leading quote.
export function csvCell(value) {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
  return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

export function toCsv(columns, rows) {
  return [columns, ...rows].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

// One file: what the report covers, then each section (the headline numbers, each figure's table)
// as its title on a line of its own, its header and rows, and an empty line.
export function reportCsv(scope, sections) {
  const lines = [["Beatline engagement report"], ...scope, []];
  for (const section of sections) lines.push([section.title], section.columns, ...section.rows, []);
  return lines.map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
