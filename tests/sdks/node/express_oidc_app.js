// An Express app signing users in with express-openid-connect 3.4, unmodified: only the issuer,
// the client and the app's own URL are Tether's. MODE=implicit is the library's default
// (response_type=id_token, response_mode=form_post, no client secret); MODE=code is the
// authorization code flow with the client secret. `/` answers who is signed in, `/userinfo`
// what req.oidc.fetchUserInfo() read from Tether.
'use strict';
const express = require('express');
const { auth } = require('express-openid-connect');

const port = Number(process.env.APP_PORT);
const code = process.env.MODE === 'code';
const config = {
  issuerBaseURL: process.env.ISSUER,
  baseURL: process.env.BASE_URL,
  clientID: process.env.CLIENT_ID,
  secret: 'a test-only cookie secret, 32 chars at least',
  authRequired: false,
  idpLogout: true
};
if (code) {
  config.clientSecret = process.env.CLIENT_SECRET;
  config.authorizationParams = { response_type: 'code', scope: 'openid profile email' };
}

const app = express();
app.use(auth(config));
app.get('/', (req, res) => {
  res.json({
    authenticated: req.oidc.isAuthenticated(),
    user: req.oidc.user || null,
    hasAccessToken: Boolean(req.oidc.accessToken && req.oidc.accessToken.access_token)
  });
});
app.get('/userinfo', async (req, res) => {
  try {
    res.json({ ok: true, userinfo: await req.oidc.fetchUserInfo() });
  } catch (err) {
    res.status(500).json({ ok: false, error: String(err) });
  }
});
app.use((err, req, res, next) => {
  res.status(err.status || 500).json({ ok: false, error: String(err.message || err) });
});
app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
