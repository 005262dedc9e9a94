// A real upstream OpenID provider for Tether's tests: the npm package oidc-provider on loopback.
//
//   node oidc_provider.mjs '<json config>'
//
// config: {"host": "127.0.0.1", "port": 0, "clients": [{client_id, client_secret, redirect_uris}],
//          "accounts": {"<login>": {email, email_verified, name, ...}}}
//
// Its built-in development login form (devInteractions) takes any login that is a key of
// "accounts" (the password is not checked); the consent page follows. The signing key is made
// at start-up. Prints "listening <issuer>" once it answers, and stops on SIGTERM or when stdin
// closes (so it never outlives the test run that started it).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');
const host = config.host || '127.0.0.1';
const port = Number(config.port || 0);
const accounts = config.accounts || {};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-' + randomBytes(4).toString('hex'), use: 'sig', alg: 'RS256' };

function start(issuer, listenPort) {
  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'nickname', 'picture', 'preferred_username'],
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, ...account };
        },
      };
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>oidc-provider error</title><pre>${JSON.stringify(out)
        .replace(/</g, '&lt;')}</pre>`;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return new Promise((resolve) => {
    const server = provider.listen(listenPort, host, () => resolve(server));
  });
}

// The issuer names the port, so the port is picked first when 0 is asked for.
async function main() {
  let listenPort = port;
  if (!listenPort) {
    const net = await import('node:net');
    listenPort = await new Promise((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, host, () => {
        const picked = probe.address().port;
        probe.close(() => resolve(picked));
      });
    });
  }
  const issuer = `http://${host}:${listenPort}`;
  const server = await start(issuer, listenPort);
  console.log(`listening ${issuer}`);
  const stop = () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
