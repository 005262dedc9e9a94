// The calls an app makes with auth0-js, nothing Tether-specific: only the domain is Tether's.
// Tests drive them through window.app and read the outcomes it records.
(function () {
  var cfg = window.TETHER;
  var redirectUri = location.origin + location.pathname;
  var webAuth = new auth0.WebAuth({
    domain: cfg.domain,
    clientID: cfg.clientID,
    redirectUri: redirectUri,
    responseType: 'token id_token',
    audience: 'https://' + cfg.domain + '/api/v2/',
    scope: 'openid profile email read:current_user update:current_user_metadata update:current_user_identities'
  });

  function settle(fn) {
    return new Promise(function (resolve) {
      fn(function (err, result) {
        resolve(err ? { ok: false, error: err } : { ok: true, result: result });
      });
    });
  }

  function management(token) {
    return new auth0.Management({ domain: cfg.domain, token: token });
  }

  window.app = {
    version: auth0.version.raw,
    callback: null,
    login: function (params) { webAuth.authorize(params || {}); },
    checkSession: function () {
      return settle(function (cb) { webAuth.checkSession({}, cb); });
    },
    userInfo: function (token) {
      return settle(function (cb) { webAuth.client.userInfo(token, cb); });
    },
    getUser: function (token, userId) {
      return settle(function (cb) { management(token).getUser(userId, cb); });
    },
    patchUserMetadata: function (token, userId, metadata) {
      return settle(function (cb) { management(token).patchUserMetadata(userId, metadata, cb); });
    },
    linkUser: function (token, userId, secondaryIdToken) {
      return settle(function (cb) { management(token).linkUser(userId, secondaryIdToken, cb); });
    },
    logout: function () { webAuth.logout({ returnTo: redirectUri, clientID: cfg.clientID }); }
  };

  function ready() { document.body.setAttribute('data-ready', ''); }
  if (/access_token|error/.test(location.hash)) {
    webAuth.parseHash({ hash: location.hash }, function (err, result) {
      window.app.callback = err ? { ok: false, error: err } : { ok: true, result: result };
      document.getElementById('out').textContent = JSON.stringify(window.app.callback, null, 1);
      ready();
    });
  } else {
    ready();
  }
})();
