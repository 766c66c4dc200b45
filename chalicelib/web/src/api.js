// The Beatline API client shared by the pages: JSON in and out, a bearer token when signed in,
// RFC 9457 problem details turned into an ApiError the page can show (title, detail, and each
// field error), and network failures told apart (`offline`) so callers can queue or retry.
export class ApiError extends Error {
  constructor(status, problem, offline = false) {
    super((problem && (problem.detail || problem.title)) || "HTTP " + status);
    this.status = status;
    this.problem = problem || {};
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
    this.offline = offline;
  }
}

export function createApi({ base, token, onUnauthorized }) {
  async function request(method, path, body) {
    const headers = { Accept: "application/json, application/problem+json" };
    const bearer = token ? await token() : null;
    if (bearer) headers.Authorization = "Bearer " + bearer;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new ApiError(0, { title: "offline", detail: error.message }, true);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (response.status === 401 && onUnauthorized) onUnauthorized();
    if (!response.ok) throw new ApiError(response.status, data && typeof data === "object" ? data : { title: response.statusText });
    // An answer a service worker served from its cache while offline (the residents' inbox) says so.
    if (data && typeof data === "object" && response.headers.get("X-Beatline-Offline")) data.offline = true;
    return data;
  }
  return {
    request,
    get: (path) => request("GET", path),
    post: (path, body) => request("POST", path, body === undefined ? {} : body),
    patch: (path, body) => request("PATCH", path, body),
    put: (path, body) => request("PUT", path, body),
    del: (path) => request("DELETE", path),
  };
}

// One line for the user: the problem's detail (or title) and every field error.
export function problemText(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  const fields = error.errors.map((e) => (e.field ? e.field + ": " : "") + (e.message || "")).join("; ");
  const head = error.problem.detail || error.problem.title || error.message;
  return fields ? head + " (" + fields + ")" : head;
}

// Which routes the served OpenAPI document declares (routes still being built are hidden, not called).
export function routeIndex(openapi) {
  const paths = (openapi && openapi.paths) || {};
  return (method, path) => Boolean(paths[path] && paths[path][method.toLowerCase()]);
}
