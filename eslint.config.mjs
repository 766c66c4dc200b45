// ESLint flat config for the browser sources (run by `make lint`, `make unit` and `make test` through
// web/node_modules, pinned in web/package-lock.json). The packages live in web/, so they are
// resolved from there; this file sits at the root so chalicelib/web/ is inside ESLint's base path.
import { createRequire } from "node:module";

const require = createRequire(new URL("./web/package.json", import.meta.url));
const js = require("@eslint/js");
const globals = require("globals");

// Markup sinks: the pages build DOM nodes with el()/textContent only (tests/test_web_sinks.py
// checks the same statically); an HTML string sink is an XSS waiting for a resident's input.
const sinkMessage = "builds HTML from a string: use el()/textContent (see tests/test_web_sinks.py)";
const noHtmlSinks = {
  "no-restricted-properties": ["error",
    { object: "document", property: "write", message: sinkMessage },
    { object: "document", property: "writeln", message: sinkMessage }],
  "no-restricted-syntax": ["error",
    { selector: "MemberExpression[property.name=/^(innerHTML|outerHTML)$/]", message: sinkMessage },
    { selector: "CallExpression[callee.property.name=/^(insertAdjacentHTML|createContextualFragment)$/]", message: sinkMessage },
    { selector: "CallExpression[callee.name='eval'], NewExpression[callee.name='Function']", message: "no code from strings" }],
};

// The service workers are templates: {{var:...}} becomes a JSON value when served. Blank it to a
// same-length literal so the file parses and columns still match.
const templateValues = {
  preprocess: (text) => [text.replace(/\{\{var:[\w-]+\}\}/g, (match) => "0".padEnd(match.length))],
  postprocess: (messages) => messages.flat(),
  supportsAutofix: false,
};

export default [
  { ignores: ["chalicelib/web/vendor/**"] },
  js.configs.recommended,
  {
    files: ["chalicelib/web/src/**/*.js", "chalicelib/web/pages/*.js"],
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: noHtmlSinks,
  },
  {
    // team.html and app.html load these with <script type="module">; the UMD libraries
    // (leaflet, idb-keyval, oidc-client-ts) are globals set by the classic scripts before them.
    files: ["chalicelib/web/src/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: { ...globals.browser, L: "readonly", idbKeyval: "readonly", oidc: "readonly", uPlot: "readonly" },
    },
  },
  {
    // docs.html loads this as a classic deferred script.
    files: ["chalicelib/web/src/docs.js"],
    languageOptions: {
      sourceType: "script",
      globals: { ...globals.browser, oidc: "readonly", uPlot: "readonly", SwaggerUIBundle: "readonly" },
    },
  },
  {
    // Classic service workers (importScripts), served from templates.
    files: ["chalicelib/web/pages/*-sw.js"],
    processor: templateValues,
    languageOptions: {
      sourceType: "script",
      globals: { ...globals.serviceworker, idbKeyval: "readonly" },
    },
  },
];
