// app.js: the AngularJS module. It starts once /config.json has said where Tether is:
// {"domain": "http://localhost:8000", "issuer": "http://localhost:8000/", "clientId": "...",
//  "audience": "http://localhost:8000/api/v2/"}
// (`tether serve --demo` serves that file next to this folder).
(function () {
  'use strict';

  function stop(message) {
    var booting = document.getElementById('booting');
    booting.className = 'alert alert-danger';
    booting.textContent = message;
  }

  if (typeof angular === 'undefined') {
    stop('The npm packages are missing: run `npm ci --prefix examples/angularjs-lock-linking` ' +
      '(./scripts/serve does it when npm is installed), then reload.');
    return;
  }
  if (typeof Auth0Lock === 'undefined') {
    stop('Lock\'s bundle is missing: run `npm run --prefix examples/angularjs-lock-linking build` ' +
      '(./scripts/serve does it when npm is installed), then reload.');
    return;
  }

  angular.module('app', []);

  function start(config) {
    // AUTH0_DOMAIN and AUTH0_CLIENT_ID of the tutorial, and the Management API's audience.
    var domain = String(config.domain || '').replace(/\/+$/, '');
    angular.module('app').constant('authConfig', {
      domain: domain,
      issuer: config.issuer || domain + '/',
      clientId: config.clientId,
      audience: config.audience
    });
    angular.bootstrap(document, ['app'], { strictDi: true });
  }

  // Bootstrap only once the other scripts (the service, the component, the run block) have
  // run too: the config can arrive while the parser still waits for one of them.
  var parsed = new Promise(function (resolve) {
    if (document.readyState !== 'loading') { resolve(); return; }
    document.addEventListener('DOMContentLoaded', function () { resolve(); });
  });
  var config = fetch('/config.json', { cache: 'no-store' })
    .then(function (response) {
      if (!response.ok) { throw new Error('/config.json answered ' + response.status); }
      return response.json();
    });

  Promise.all([config, parsed])
    .then(function (results) { start(results[0]); })
    .catch(function (error) {
      stop('Cannot start: ' + error.message);
    });
})();
