// The local staff OpenID Connect provider: DEV AND TESTS ONLY (no passwords: anyone who can reach
// it picks a subject, role and team). Built on oidc-provider (a certified implementation), it signs
// with the local IdP's ES256 key (.local/keys/staff-es256.pem, same kid as staff-jwks.json), so its
// access tokens carry exactly what `make token` issues: iss, aud, sub, roles, team, force, rank
// (when one is chosen), 8 hours.
//
//   node server.mjs --port 8002 --keys ../../../.local/keys --audience beatline-api \
//        --redirect http://127.0.0.1:8000/dashboard/
//
// Authorization code + PKCE only, for one public client (the dashboard). Consent is implied
// (first-party client); the login page is a plain form (no script).
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8002' },
    host: { type: 'string', default: '127.0.0.1' },
    keys: { type: 'string' },
    audience: { type: 'string', default: 'beatline-api' },
    resource: { type: 'string', default: 'urn:beatline:api' },
    'client-id': { type: 'string', default: 'beatline-dashboard' },
    redirect: { type: 'string', multiple: true, default: ['http://127.0.0.1:8000/dashboard/'] },
    force: { type: 'string', default: 'local-force' },
    hours: { type: 'string', default: '8' },
  },
});

const ISSUER = `http://${args.host}:${args.port}`;
const TTL = Number(args.hours) * 3600;
const ROLES = ['officer', 'supervisor', 'analyst', 'admin', 'leader'];
const ID = /^[A-Za-z0-9._-]{1,64}$/;
// The contract's `rank` values (chalicelib/domain/ranks.py); '' signs in without a rank.
const RANKS = ['', 'constable', 'sergeant', 'inspector', 'chief_inspector', 'superintendent',
  'chief_superintendent', 'chief_officer', 'pcso', 'special', 'staff'];

function signingKey(dir) {
  const jwk = createPrivateKey(readFileSync(join(dir, 'staff-es256.pem'))).export({ format: 'jwk' });
  const [published] = JSON.parse(readFileSync(join(dir, 'staff-jwks.json'), 'utf8')).keys;
  return { ...jwk, kid: published.kid, use: 'sig', alg: 'ES256' };
}

const users = new Map(); // sub -> { role, team, rank }: what was picked on the login page

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: args['client-id'],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256',
    redirect_uris: args.redirect,
    post_logout_redirect_uris: args.redirect,
  }],
  jwks: { keys: [signingKey(args.keys)] },
  scopes: ['openid'],  // 'beatline' is the API's (resource server) scope, below
  claims: { openid: ['sub'] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => args.resource,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resource) {
        if (resource !== args.resource) throw new errors.InvalidTarget();
        return {
          scope: 'beatline',
          audience: args.audience,
          accessTokenTTL: TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  async findAccount(ctx, sub) {
    return users.has(sub) ? { accountId: sub, claims: async () => ({ sub }) } : undefined;
  },
  async extraTokenClaims(ctx, token) {
    const user = users.get(token.accountId);
    if (!user) return undefined;
    return { roles: [user.role], team: user.team, force: args.force, ...(user.rank ? { rank: user.rank } : {}) };
  },
  async loadExistingGrant(ctx) {
    // First-party client: consent is implied, for openid and the API's scope.
    const { client, session } = ctx.oidc;
    const existing = session.grantIdFor(client.clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid');
    grant.addResourceScope(args.resource, 'beatline');
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: TTL, AuthorizationCode: 120, IdToken: 3600, Interaction: 900, Session: TTL, Grant: TTL },
  cookies: { keys: [crypto.randomUUID()] },
  renderError(ctx, out) {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description ?? ''}`;
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const redirectOrigins = args.redirect.map((uri) => new URL(uri).origin).join(' ');

function loginPage(uid, message = '') {
  const ranks = RANKS.map((r) => `<option value="${r}">${r || '(none)'}</option>`).join('');
  const options = ROLES.map((r) => `<option value="${r}"${r === 'supervisor' ? ' selected' : ''}>${r}</option>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Beatline local sign-in</title></head>
<body><main><h1>Beatline local sign-in (development only)</h1>
<p>This local provider asks for no password: choose who you are. It does not exist in AWS.</p>
${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<p><label for="sub">Subject</label> <input id="sub" name="sub" value="sgt-7" required pattern="[A-Za-z0-9._\\-]{1,64}"></p>
<p><label for="role">Role</label> <select id="role" name="role">${options}</select></p>
<p><label for="team">Team</label> <input id="team" name="team" value="north" required pattern="[A-Za-z0-9._\\-]{1,64}"></p>
<p><label for="rank">Rank</label> <select id="rank" name="rank">${ranks}</select></p>
<p><button type="submit">Sign in</button></p>
</form></main></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function send(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': `default-src 'none'; form-action 'self' ${redirectOrigins}; frame-ancestors 'none'; base-uri 'none'`,
  });
  res.end(html);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, 'interaction mismatch');
  if (req.method === 'GET' && !action) return send(res, 200, loginPage(uid));
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const sub = form.get('sub') ?? '';
    const role = form.get('role') ?? '';
    const team = form.get('team') ?? '';
    const rank = form.get('rank') ?? '';
    if (!ID.test(sub) || !ID.test(team) || !ROLES.includes(role) || !RANKS.includes(rank)) {
      return send(res, 400, loginPage(uid, 'Subject and team: 1-64 of A-Z a-z 0-9 . _ -; role and rank: one of the list.'));
    }
    users.set(sub, { role, team, rank });
    return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  }
  return send(res, 405, 'method not allowed');
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(new URL(req.url, ISSUER).pathname);
  if (!match) return callback(req, res);
  interaction(req, res, match[1], match[2]).catch((error) => {
    send(res, 400, `sign-in failed: ${escape(error.message)}`);
  });
});
server.listen(Number(args.port), args.host, () => {
  console.log(`local OIDC provider on ${ISSUER} (discovery: ${ISSUER}/.well-known/openid-configuration)`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
