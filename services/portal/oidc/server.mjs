// A local OpenID provider (npm oidc-provider, OpenID-certified) for development
// and tests only: the trust's identity provider stands in for Entra ID or Google.
//
//   node server.mjs --port 9000 --issuer http://127.0.0.1:9000 \
//     --client-id portal --client-secret S --redirect-uri http://127.0.0.1:8000/sign-in/oidc/callback \
//     --accounts accounts.json
//
// accounts.json: [{"email": "...", "name": "...", "password": "..."}]. The
// development sign-in form (devInteractions) asks for the email and password;
// an unknown email or a wrong password shows the form again.
import { readFileSync } from 'node:fs';
import * as querystring from 'node:querystring';
import Provider from 'oidc-provider';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : (process.env[name.toUpperCase().replaceAll('-', '_')] ?? fallback);
}

const port = Number(arg('port', '9000'));
const issuer = arg('issuer', `http://127.0.0.1:${port}`);
const redirectUris = arg('redirect-uri', 'http://127.0.0.1:8000/sign-in/oidc/callback').split(',');
const accounts = new Map(JSON.parse(readFileSync(arg('accounts'), 'utf8'))
  .map((a) => [a.email.toLowerCase(), a]));

const provider = new Provider(issuer, {
  clients: [{
    client_id: arg('client-id', 'portal'),
    client_secret: arg('client-secret'),
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris.map((u) => new URL('/', u).href),
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // the email and name in the ID token, as Entra ID and Google do
  pkce: { required: () => true },
  cookies: { keys: [arg('cookie-key', 'local-development-only')] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts.get(String(id).toLowerCase());
    if (!account) return undefined;
    return {
      accountId: account.email.toLowerCase(),
      async claims() {
        return { sub: account.email.toLowerCase(), email: account.email.toLowerCase(),
                 email_verified: true, name: account.name };
      },
    };
  },
  // A first-party client of the trust: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId,
                                                accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
provider.proxy = true;

// The development form accepts any login; this one checks the account and its password.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    const body = querystring.parse(Buffer.concat(chunks).toString('utf8'));
    ctx.req.body = body;
    if (body.prompt === 'login') {
      const account = accounts.get(String(body.login || '').trim().toLowerCase());
      if (!account || account.password !== body.password) {
        ctx.status = 303;
        ctx.redirect(ctx.path); // the sign-in form again
        return;
      }
      body.login = account.email.toLowerCase();
    }
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (${accounts.size} accounts)`);
});
