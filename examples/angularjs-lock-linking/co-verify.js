// co-verify.html's script (a file of its own, so a strict Content-Security-Policy can serve
// the page). The domain and client id are not checked by this call; /config.json gives them.
(function () {
  'use strict';
  fetch('/config.json', { cache: 'no-store' })
    .then(function (response) { return response.json(); })
    .then(function (config) {
      new auth0.WebAuth({ domain: config.domain, clientID: config.clientId }).crossOriginVerification();
    });
})();
