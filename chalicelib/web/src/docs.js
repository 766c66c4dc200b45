// /docs/: Swagger UI over the served OpenAPI document. "Try it out" calls this same origin (the
// document's server is rewritten to this page's base path); the token pasted into "Authorize" is
// kept in memory only (persistAuthorization off). The page takes no configuration from its URL
// (queryConfigEnabled off: no `?url=` / `?configUrl=` pointing Swagger UI at another document);
// the document is generated from the code, and Swagger UI sanitizes the Markdown it renders.
(function () {
  "use strict";
  const base = document.querySelector('meta[name="beatline-base"]').content;
  const status = document.getElementById("docs-status");

  fetch(base + "/v1/openapi.json", { headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then((spec) => {
      spec.servers = [{ url: base || "/", description: "this server" }];
      window.SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger",
        deepLinking: false,
        validatorUrl: null,
        persistAuthorization: false,
        tryItOutEnabled: false,
        displayRequestDuration: true,
        queryConfigEnabled: false,
      });
    })
    .catch((error) => {
      status.textContent = "The API description could not be loaded (" + error.message + ").";
    });
})();
