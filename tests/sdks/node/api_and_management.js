// node `auth0` 7 (its ManagementClient, and the 4.x API it keeps as `auth0/legacy`) and
// express-oauth2-jwt-bearer 1.10, unmodified: only the domain and the machine client's
// credentials are Tether's. Prints one JSON document of what they returned.
'use strict';
const { ManagementClient } = require('auth0');
const legacy = require('auth0/legacy');
const express = require('express');
const { auth, requiredScopes } = require('express-oauth2-jwt-bearer');

const domain = process.env.TETHER_DOMAIN;
const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
const email = process.env.USER_EMAIL;
const audience = `https://${domain}/api/v2/`;

async function main() {
  const out = {};
  const authentication = new legacy.AuthenticationClient({ domain, clientId, clientSecret });
  const { data: tokens } = await authentication.oauth.clientCredentialsGrant({ audience });
  out.tokenType = tokens.token_type;

  // v7: the client fetches its own token with the credentials; legacy (4.x): a token by hand.
  const v7 = new ManagementClient({ domain, clientId, clientSecret });
  const v4 = new legacy.ManagementClient({ domain, token: tokens.access_token });
  const created = await v7.users.create({
    connection: 'Username-Password-Authentication', email, password: 'A long passphrase 42!'
  });
  out.created = created.user_id;
  out.got = (await v7.users.get(created.user_id)).email;
  out.updated = (await v7.users.update(created.user_id, { user_metadata: { plan: 'pro' } }))
    .user_metadata;
  out.byEmail = (await v7.users.listUsersByEmail({ email })).map((u) => u.user_id);
  out.legacyGot = (await v4.users.get({ id: created.user_id })).data.user_metadata;
  try {
    await v7.users.get('auth0|nobody');
    out.missing = 'found';
  } catch (err) {
    out.missing = err.statusCode;
  }

  const api = express();
  api.get('/things', auth({ issuerBaseURL: `https://${domain}/`, audience }),
    requiredScopes('read:users'), (req, res) => res.json({ sub: req.auth.payload.sub }));
  api.get('/admin', auth({ issuerBaseURL: `https://${domain}/`, audience }),
    requiredScopes('delete:everything'), (req, res) => res.json({ sub: req.auth.payload.sub }));
  const server = await new Promise((resolve) => { const s = api.listen(0, '127.0.0.1', () => resolve(s)); });
  const base = `http://127.0.0.1:${server.address().port}`;
  const call = async (path, token) => {
    const r = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: r.status, body: r.status === 200 ? await r.json() : null };
  };
  out.api = await call('/things', tokens.access_token);
  out.apiNoScope = await call('/admin', tokens.access_token);
  out.apiForged = await call('/things', tokens.access_token.slice(0, -4) + 'AAAA');
  out.apiNone = await call('/things');
  server.close();
  return out;
}

main().then((out) => console.log(JSON.stringify(out)), (err) => {
  console.error(err && (err.stack || err));
  process.exit(1);
});
