// The node peer of Tether's benchmark (bench/run.py): the npm package oidc-provider (pinned in
// package.json) issuing client-credentials access tokens as JWTs signed RS256, which is what
// Tether's client_credentials grant does.
//
//   PORT=8123 WORKERS=2 node server.mjs
//
// WORKERS processes (node's cluster module) share the port, as `tether serve --workers N`
// does. One client: client_id "bench", client_secret "bench-secret", client_secret_post; one
// API, https://api.bench.example/, scope "read:bench". The signing key is made at start-up.
// Prints "listening" once every worker listens; stops on SIGTERM.
import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const workers = Math.max(1, Number(process.env.WORKERS || 1));
const API = 'https://api.bench.example/';

if (cluster.isPrimary) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' };
  const cookieKey = randomBytes(16).toString('hex');
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    const worker = cluster.fork({ BENCH_JWK: JSON.stringify(jwk), BENCH_COOKIE_KEY: cookieKey });
    worker.on('message', (msg) => {
      if (msg === 'listening' && (ready += 1) === workers) console.log('listening');
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: 'bench',
        client_secret: 'bench-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [JSON.parse(process.env.BENCH_JWK)] },
    cookies: { keys: [process.env.BENCH_COOKIE_KEY] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read:bench',
          audience: API,
          accessTokenTTL: 86400,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.listen(port, '127.0.0.1', () => process.send('listening'));
}
