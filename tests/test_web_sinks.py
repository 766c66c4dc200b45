"""Every string the pages show is inserted as text: a static check over our page sources
(chalicelib/web/src/*.js, chalicelib/web/pages/*) for HTML sinks fed anything but a constant.

Sinks: innerHTML/outerHTML assignment, insertAdjacentHTML, document.write, createContextualFragment,
DOMParser, srcdoc, eval / new Function / string timers, and Leaflet's methods that set innerHTML
when given a string (bindTooltip, bindPopup, setContent, set*Content, addAttribution, setPrefix,
divIcon's `html`, a layer's `attribution`). Leaflet's content methods may take a DOM node built
with `el(...)` / `document.createElement(...)` / `document.createTextNode(...)`, or a string
literal without concatenation. Vendored libraries are not ours to edit (docs/hardening.md says
how each is used). The checker is tested on hostile snippets so it cannot pass by seeing nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.web.assets import PAGES_DIR

SOURCES = [*sorted((PAGES_DIR.parent / "src").glob("*.js")), *sorted(PAGES_DIR.glob("*.js"))]
PAGES = sorted(PAGES_DIR.glob("*.html"))

ALWAYS = {  # sinks that take markup or code, whatever the argument
    "innerHTML/outerHTML assignment": re.compile(r"\.(?:inner|outer)HTML\s*\+?=(?!=)"),
    "insertAdjacentHTML": re.compile(r"\binsertAdjacentHTML\s*\("),
    "document.write": re.compile(r"\bdocument\s*\.\s*write(?:ln)?\s*\("),
    "createContextualFragment": re.compile(r"\bcreateContextualFragment\s*\("),
    "DOMParser": re.compile(r"\bDOMParser\b"),
    "srcdoc": re.compile(r"\bsrcdoc\b"),
    "setHTMLUnsafe/parseHTMLUnsafe": re.compile(r"\b(?:set|parse)HTMLUnsafe\b"),
    "eval": re.compile(r"(?<![.\w])eval\s*\("),
    "new Function": re.compile(r"\bnew\s+Function\s*\("),
    "string timer": re.compile(r"\bset(?:Timeout|Interval)\s*\(\s*[\"'`]"),
    "divIcon with html": re.compile(r"\bdivIcon\s*\(\s*(?!\{[^}]*\})|\bdivIcon\s*\(\s*\{[^}]*\bhtml\s*:"),
    "javascript: URL": re.compile(r"javascript:", re.I),
}
# Leaflet methods that set innerHTML from a string argument: the argument must be a node or a constant.
CONTENT_CALLS = re.compile(r"\.(bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent|addAttribution|setPrefix)\s*\(")
SAFE_ARGUMENT = re.compile(
    r"""\s*(?:el\(|document\.create(?:Element|TextNode)\(|false\s*[,)]|"[^"\\]*"\s*[,)]|'[^'\\]*'\s*[,)])""")
ATTRIBUTION_OPTION = re.compile(r"\battribution\s*:\s*(?![\"'][^\"'\\]*[\"']\s*[,}])")
COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=\s))//[^\n]*", re.S)


def sinks(source: str) -> list[str]:
    """What in `source` (JavaScript) could put markup from a non-constant into the page."""
    code = COMMENT.sub(" ", source)
    found = [f"{name}: {m.group(0)!r}" for name, pattern in ALWAYS.items() for m in pattern.finditer(code)]
    for call in CONTENT_CALLS.finditer(code):
        if not SAFE_ARGUMENT.match(code, call.end()):
            found.append(f"{call.group(1)} with a non-constant string: {code[call.start():call.end() + 40]!r}")
    found += [f"attribution option: {m.group(0)!r}" for m in ATTRIBUTION_OPTION.finditer(code)]
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_page_scripts_insert_text_only(path: Path) -> None:
    assert sinks(path.read_text(encoding="utf-8")) == []


def test_the_check_reads_every_script_of_the_pages() -> None:
    names = {p.name for p in SOURCES}
    assert {"app.js", "dashboard.js", "docs.js", "app-sw.js", "map.js", "team.js", "team-sw.js"} <= names


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_page_templates_have_no_handlers_and_fill_values_into_quoted_attributes_only(path: Path) -> None:
    html = path.read_text(encoding="utf-8")
    assert re.findall(r"\son[a-z]+\s*=|javascript:", html, re.I) == []
    for value in re.finditer(r"\{\{var:[a-z_]+\}\}", html):  # the server html-escapes these (api/web.py)
        before = html[: value.start()]
        if value.group(0) == "{{var:importmap}}":  # JSON of hashed asset URLs, made by the server, CSP-hashed
            assert before.endswith('<script type="importmap">'), value.group(0)
            continue
        assert re.search(r'\s[a-z-]+="$', before), value.group(0)


@pytest.mark.parametrize("snippet", [
    "layer.bindTooltip(area.name);",
    "layer.bindTooltip( name );",
    "layer.bindPopup('<b>' + area.name + '</b>');",
    "layer.bindPopup(`${area.name}`);",
    "marker.setTooltipContent(x)",
    "tooltip.setContent(area.name)",
    "map.attributionControl.addAttribution(TILE_ATTRIBUTION)",
    "map.attributionControl.setPrefix(prefix)",
    "L.tileLayer(TILES, { attribution: TILE_ATTRIBUTION })",
    "L.tileLayer(TILES, {attribution:escaped, maxZoom: 19})",
    "section.innerHTML = '<h2>' + title + '</h2>';",
    "node.innerHTML += more;",
    "node.outerHTML = x;",
    "list.insertAdjacentHTML('beforeend', item);",
    "document.write(x);",
    "document.writeln(x);",
    "range.createContextualFragment(html);",
    "new DOMParser().parseFromString(s, 'text/html');",
    "frame.srcdoc = s;",
    "eval(code);",
    "const f = new Function(body);",
    "setTimeout('run()', 10);",
    "L.divIcon({ html: name });",
    "L.divIcon({ className: 'pin', html: label });",
    "L.divIcon(options);",
    "link.href = 'javascript:alert(1)';",
    "el.setHTMLUnsafe(s);",
])
def test_the_check_finds_each_kind_of_sink(snippet: str) -> None:
    assert sinks(snippet), snippet


@pytest.mark.parametrize("snippet", [
    'layer.bindTooltip(el("span", { text: area.name }));',
    "layer.bindPopup(document.createTextNode(area.name));",
    'layer.bindTooltip("Area");',
    "map.attributionControl.setPrefix(false);",
    "L.divIcon({ className: 'pin', iconSize: [22, 22], iconAnchor: [11, 22] });",
    "const same = a.innerHTML === b.innerHTML;",
    "// a comment may say layer.bindTooltip(area.name) or innerHTML = x\nnode.textContent = name;",
    "/* innerHTML = x */ node.textContent = name;",
    'fetch("https://example.test/x"); node.textContent = "//" + name;',
])
def test_the_check_lets_text_and_nodes_through(snippet: str) -> None:
    assert sinks(snippet) == [], snippet
