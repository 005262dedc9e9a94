// The browser build of auth0-lock 14 for the test pages (Lock's npm package has none): esbuild
// bundles lib/ as is and exposes the two classes as the CDN build does.
const lock = require('auth0-lock');
window.Auth0Lock = lock.Auth0Lock;
window.Auth0LockPasswordless = lock.Auth0LockPasswordless;
