// An Express app signing users in with passport-auth0 1.4, unmodified: only the domain, the
// client's credentials and the callback URL are Tether's. After the callback it answers the
// profile passport-auth0 fetched from /userinfo (with ?access_token=, RFC 6750 §2.3) as JSON.
'use strict';
const express = require('express');
const session = require('express-session');
const passport = require('passport');
const Auth0Strategy = require('passport-auth0');

const port = Number(process.env.APP_PORT);
passport.use(new Auth0Strategy(
  {
    domain: process.env.TETHER_DOMAIN,
    clientID: process.env.CLIENT_ID,
    clientSecret: process.env.CLIENT_SECRET,
    callbackURL: `http://localhost:${port}/callback`
  },
  (accessToken, refreshToken, extraParams, profile, done) =>
    done(null, { profile: profile._json, provider: profile.provider, id: profile.id,
                 displayName: profile.displayName, idToken: Boolean(extraParams.id_token) })
));

const app = express();
app.use(session({ secret: 'test only', resave: false, saveUninitialized: true }));
app.get('/login', passport.authenticate('auth0', { scope: 'openid email profile' }));
app.get('/callback', (req, res, next) => {
  passport.authenticate('auth0', { session: false }, (err, user, info) => {
    if (err || !user) {
      res.status(500).json({ ok: false, error: String(err || (info && info.message) || info) });
      return;
    }
    res.json({ ok: true, user });
  })(req, res, next);
});
app.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ listening: port })));
