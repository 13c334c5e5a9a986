// A real OAuth2 / OpenID Connect server for Tally's auth tests: panva's
// oidc-provider, configured for what Tally's connectors use and nothing else.
//
// - client `tally-app`: authorization code with PKCE (S256 required), refresh
//   tokens that rotate on every use (a reused one revokes the grant), secret
//   sent with HTTP Basic; a native app, so any loopback redirect port is allowed.
// - client `tally-post`: the same, but the secret goes in the form body.
// - client `tally-service`: client credentials only.
// - the dev interactions (any login, one consent button) stand in for the
//   user, so a test can act as the browser.
//
// Listens on 127.0.0.1 on a free port and prints one JSON line
// {"issuer": "http://127.0.0.1:PORT"} once it accepts requests. The access
// token lifetime is OIDC_ACCESS_TTL seconds (default 3600).

import http from 'node:http';
import Provider from 'oidc-provider';

const accessTtl = Number(process.env.OIDC_ACCESS_TTL || 3600);

const authCodeClient = (id, method) => ({
  client_id: id,
  client_secret: `${id}-secret-0123456789abcdef`,
  application_type: 'native',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: method,
  scope: 'openid offline_access stats',
});

const configuration = {
  clients: [
    authCodeClient('tally-app', 'client_secret_basic'),
    authCodeClient('tally-post', 'client_secret_post'),
    {
      client_id: 'tally-service',
      client_secret: 'tally-service-secret-0123456789abcdef',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'stats',
    },
  ],
  scopes: ['openid', 'offline_access', 'stats'],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:tally:stats-api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'stats',
        accessTokenFormat: 'opaque',
        accessTokenTTL: accessTtl,
      }),
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  cookies: { keys: ['tally-oidc-test-cookie-key'] },
  ttl: { AccessToken: accessTtl, ClientCredentials: accessTtl },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// The test that started this server owns it; stop when it closes our stdin.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
