// The map, loaded on demand (Leaflet and the Geoman drawing plugin are classic scripts: the page's
// import map names their hashed files, resolved here with import.meta.resolve). SVG shapes, and
// tiles only when the deployment configures a tile source (its origin is then in the CSP).
const loading = new Map();

function load(specifier, make) {
  if (!loading.has(specifier)) {
    loading.set(specifier, new Promise((resolve, reject) => {
      const node = make(import.meta.resolve(specifier));
      node.addEventListener("load", resolve);
      node.addEventListener("error", () => { loading.delete(specifier); reject(new Error("could not load " + specifier)); });
      document.head.append(node);
    }));
  }
  return loading.get(specifier);
}

const script = (url) => Object.assign(document.createElement("script"), { src: url });
const style = (url) => Object.assign(document.createElement("link"), { rel: "stylesheet", href: url });

export async function leaflet() {
  await Promise.all([load("lazy/leaflet.css", style), load("lazy/leaflet.js", script)]);
  return window.L;
}

export async function withDrawing() {
  const L = await leaflet();
  await Promise.all([load("lazy/leaflet-geoman.css", style), load("lazy/leaflet-geoman.js", script)]);
  return L;
}

export function createMap(L, container, center, zoom = 14) {
  const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || "";
  // Leaflet's attribution control sets innerHTML: the setting is shown by a text control instead.
  const map = L.map(container, { preferCanvas: false, keyboard: true, attributionControl: false }).setView([center.lat, center.lon], zoom);
  const tiles = meta("beatline-tile-url");
  const attribution = meta("beatline-tile-attribution");
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  if (tiles && attribution) {
    const Attribution = L.Control.extend({
      onAdd: () => Object.assign(document.createElement("div"), { className: "leaflet-control-attribution leaflet-control", textContent: attribution }),
    });
    new Attribution({ position: "bottomright" }).addTo(map);
  }
  return map;
}

// A draggable pin that needs no image file (a styled div).
export function pin(L, at) {
  const icon = L.divIcon({ className: "pin", iconSize: [22, 22], iconAnchor: [11, 22] });
  return L.marker([at.lat, at.lon], { icon, draggable: true, keyboard: true, title: "Pin" });
}

export function outline(L, geometry, className) {
  return L.geoJSON(geometry, { interactive: false, style: () => ({ color: "#0b3d6e", weight: 2, fillOpacity: 0.05, className }) });
}
