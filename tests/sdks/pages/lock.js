// Lock 14 as an app embeds it: only the domain is Tether's (https://localhost:PORT, so Lock's
// defaults for the client script, the issuer and the key set all point at Tether). Tests call
// app.start(kind, options) and read what Lock reported from app.events.
(function () {
  var cfg = window.TETHER;
  var redirectUri = location.origin + location.pathname;
  var events = [];
  var lock = null;

  function record(name) {
    return function (value) {
      events.push({ name: name, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
      document.getElementById('out').textContent = JSON.stringify(events, null, 1);
    };
  }

  function create(kind, options) {
    var base = {
      avatar: null,                        // no Gravatar lookups (no internet in tests)
      rememberLastLogin: true,
      auth: {
        redirect: options.redirect !== false,
        redirectUrl: redirectUri,
        responseType: 'token id_token',
        params: { scope: 'openid profile email' }
      }
    };
    var merged = Object.assign({}, base, options.lock || {});
    var Klass = kind === 'passwordless' ? window.Auth0LockPasswordless : window.Auth0Lock;
    lock = new Klass(cfg.clientID, cfg.domain, merged);
    ['authenticated', 'authorization_error', 'unrecoverable_error', 'signup success',
     'signup error', 'forgot_password submit', 'vcode ready', 'hash_parsed', 'show',
     'hide'].forEach(function (name) {
      lock.on(name, record(name));
    });
    return lock;
  }

  window.app = {
    events: events,
    start: function (kind, options) {
      sessionStorage.setItem('lock-kind', kind);
      sessionStorage.setItem('lock-options', JSON.stringify(options || {}));
      create(kind, options || {}).show((options || {}).show || {});
    },
    checkSession: function () {
      return new Promise(function (resolve) {
        lock.checkSession({}, function (err, result) { resolve(err ? { ok: false, error: err } : { ok: true, result: result }); });
      });
    },
    getUserInfo: function (token) {
      return new Promise(function (resolve) {
        lock.getUserInfo(token, function (err, result) { resolve(err ? { ok: false, error: err } : { ok: true, result: result }); });
      });
    },
    logout: function () { lock.logout({ returnTo: redirectUri }); },
    named: function (name) { return events.filter(function (e) { return e.name === name; }); }
  };

  // Back from a redirect: Lock, made again with the same options, parses the hash itself.
  var kind = sessionStorage.getItem('lock-kind');
  if (kind && /access_token|error=/.test(location.hash)) {
    create(kind, JSON.parse(sessionStorage.getItem('lock-options') || '{}'));
  }
  document.body.setAttribute('data-ready', '');
})();
