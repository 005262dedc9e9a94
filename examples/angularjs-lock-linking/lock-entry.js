// What build.mjs bundles: auth0-lock 14 as is, exposed as Auth0's CDN build exposes it.
const lock = require('auth0-lock');
window.Auth0Lock = lock.Auth0Lock;
window.Auth0LockPasswordless = lock.Auth0LockPasswordless;
