// Staff sign-in: OIDC authorization code + PKCE with oidc-client-ts (the vendored browser build,
// loaded by the page as `window.oidc`) against the staff issuer the page names in its meta tags.
// Tokens stay in this tab's sessionStorage; signing out removes them.
export function createAuth({ issuer, clientId, scope, redirectPath }) {
  const redirect = window.location.origin + redirectPath;
  const manager = new window.oidc.UserManager({
    authority: issuer, client_id: clientId, scope, redirect_uri: redirect, post_logout_redirect_uri: redirect,
    response_type: "code",
    userStore: new window.oidc.WebStorageStateStore({ store: window.sessionStorage }),
    stateStore: new window.oidc.WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: false, monitorSession: false, loadUserInfo: false,
  });

  async function completeRedirect() {
    const params = new URLSearchParams(window.location.search);
    if (!params.has("code") && !params.has("error")) return null;
    try {
      await manager.signinRedirectCallback();
      return null;
    } catch (error) {
      return error;
    } finally {
      window.history.replaceState(null, "", redirectPath + window.location.hash);
    }
  }

  return {
    completeRedirect,
    user: () => manager.getUser(),
    signIn: () => manager.signinRedirect(),
    async signOut() {
      await manager.removeUser();
      await manager.clearStaleState();
    },
  };
}

export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}
