// Sign-up at the door: a QR code, drawn here (qrcode-generator, vendored) as SVG elements, that
// opens the residents' app with one of the team's neighbourhoods chosen (`/app/?area=<id>&via=team`:
// the sign-up is counted for the area's team). It carries no personal data: the area id is public.
import qrcode from "qrcode-generator";
import { $, options } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

export function signUpUrl(base, areaId) {
  return new URL(base + "/app/?" + new URLSearchParams({ area: areaId, via: "team" }), window.location.origin).href;
}

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  return node;
}

export function qrSvg(text, title) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const count = qr.getModuleCount();
  const size = count + 8; // a quiet zone of 4 modules
  const svg = svgNode("svg", { viewBox: "0 0 " + size + " " + size, role: "img", "aria-labelledby": "qr-title", "shape-rendering": "crispEdges" });
  const label = svgNode("title", { id: "qr-title" });
  label.textContent = title;
  svg.append(label, svgNode("rect", { width: size, height: size, fill: "#fff" }));
  let path = "";
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) if (qr.isDark(row, col)) path += "M" + (col + 4) + " " + (row + 4) + "h1v1h-1z";
  }
  svg.append(svgNode("path", { d: path, fill: "#000" }));
  svg.dataset.modules = String(count);
  return svg;
}

function render(ctx) {
  const id = $("qr-area").value;
  if (!id) {
    $("qr").replaceChildren();
    $("qr-link").textContent = ctx.t("no_team_areas");
    $("qr-link").removeAttribute("href");
    return;
  }
  const url = signUpUrl(ctx.base, id);
  const name = $("qr-area").selectedOptions[0].textContent;
  $("qr").replaceChildren(qrSvg(url, ctx.t("qr_title", { name })));
  $("qr-link").href = url;
  $("qr-link").textContent = url;
}

export function init(ctx) {
  $("qr-area").addEventListener("change", () => render(ctx));
}

export async function show(ctx) {
  const mine = (await ctx.areas()).filter((a) => a.team === ctx.claims.team);
  options($("qr-area"), mine.map((a) => a.id), (id) => mine.find((a) => a.id === id).name, $("qr-area").value);
  render(ctx);
}
