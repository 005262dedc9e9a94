// SPA playground: the real @auth0/auth0-spa-js pointed at Tether.
//
// window.PLAYGROUND_CONFIG (served as /config.js) holds {domain, clientId, audience, redirectUri}.
// The buttons call spa-js; window.playground exposes the same calls to scripts (the browser tests
// drive the page through it). Every call resolves to {ok: true, ...} or {ok: false, error, ...}
// and shows its outcome on the page.
(function () {
  "use strict";
  var cfg = window.PLAYGROUND_CONFIG || {};
  var OPTIONS_KEY = "tether.playground.options";
  var $ = function (id) { return document.getElementById(id); };

  function loadOptions() {
    try { return JSON.parse(localStorage.getItem(OPTIONS_KEY)) || {}; } catch (e) { return {}; }
  }
  var options = Object.assign({ useRefreshTokens: false, useAudience: false }, loadOptions());

  function makeClient() {
    var authorizationParams = { redirect_uri: cfg.redirectUri || window.location.origin + "/" };
    if (options.useAudience && cfg.audience) authorizationParams.audience = cfg.audience;
    // new Auth0Client (not createAuth0Client): no silent sign-in attempt on page load.
    return new auth0.Auth0Client({
      domain: cfg.domain,
      clientId: cfg.clientId,
      useRefreshTokens: !!options.useRefreshTokens,
      cacheLocation: "memory",
      authorizeTimeoutInSeconds: 20,
      authorizationParams: authorizationParams,
    });
  }
  var client = makeClient();

  function decode(jwt) {
    try {
      var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch (e) { return null; }
  }

  function setStatus(text) { $("status").textContent = text; }
  function showError(err) {
    var box = $("error");
    box.hidden = !err;
    box.textContent = err ? (err.error || "error") + ": " + (err.error_description || err.message || "") : "";
  }
  function failure(e) {
    var out = { ok: false, error: e && (e.error || e.name) || "error", error_description: e && e.error_description || "", message: String(e && e.message || e) };
    setStatus("failed: " + out.error);
    showError(out);
    return out;
  }

  async function showUser() {
    var user = await client.getUser();
    $("user-email").textContent = user ? (user.email || user.sub) : "nobody";
    $("profile").textContent = user ? JSON.stringify(user, null, 2) : "-";
    return user || null;
  }

  // Each call's latest outcome, by name, for scripts that click the buttons.
  var results = {};

  async function run(label, work) {
    setStatus(label + "…");
    showError(null);
    delete results[label];
    var result;
    try {
      result = Object.assign({ ok: true }, (await work()) || {});
      setStatus(label + ": done");
    } catch (e) {
      result = failure(e);
    }
    results[label] = result;
    return result;
  }

  var playground = {
    config: cfg,
    results: results,
    options: function () { return Object.assign({}, options); },
    /** Change the client options; makes a fresh client (its in-memory cache starts empty). */
    configure: function (changes) {
      options = Object.assign(options, changes || {});
      localStorage.setItem(OPTIONS_KEY, JSON.stringify(options));
      $("opt-refresh").checked = !!options.useRefreshTokens;
      $("opt-audience").checked = !!options.useAudience;
      client = makeClient();
      return playground.options();
    },
    login: function (authorizationParams) {
      setStatus("redirecting");
      return client.loginWithRedirect({ authorizationParams: authorizationParams || {} });
    },
    popup: function (authorizationParams) {
      return run("popup", async function () {
        await client.loginWithPopup({ authorizationParams: authorizationParams || {} }, { timeoutInSeconds: 30 });
        return { user: await showUser() };
      });
    },
    token: function (extra) {
      return run("token", async function () {
        var response = await client.getTokenSilently(Object.assign({ detailedResponse: true, timeoutInSeconds: 20 }, extra || {}));
        var claims = decode(response.access_token);
        $("token").textContent = claims ? JSON.stringify(claims, null, 2) : response.access_token;
        await showUser();
        return { access_token: response.access_token, id_token: response.id_token, claims: claims };
      });
    },
    user: function () { return run("user", async function () { return { user: await showUser() }; }); },
    /** After a reload: checkSession() signs in silently if spa-js remembers a sign-in. */
    restore: function () {
      return run("restore", async function () {
        await client.checkSession({ timeoutInSeconds: 20 });
        return { user: await showUser() };
      });
    },
    logout: function (returnTo) {
      setStatus("signing out");
      return client.logout({ logoutParams: { returnTo: returnTo || cfg.redirectUri || window.location.origin + "/" } });
    },
  };
  window.playground = playground;

  async function start() {
    $("cfg-domain").textContent = cfg.domain || "(not set)";
    $("cfg-client").textContent = cfg.clientId || "(not set)";
    $("cfg-audience").textContent = cfg.audience || "(none)";
    $("opt-refresh").checked = !!options.useRefreshTokens;
    $("opt-audience").checked = !!options.useAudience;
    $("opt-refresh").addEventListener("change", function (e) { playground.configure({ useRefreshTokens: e.target.checked }); });
    $("opt-audience").addEventListener("change", function (e) { playground.configure({ useAudience: e.target.checked }); });
    $("login-redirect").addEventListener("click", function () { playground.login(); });
    $("signup-redirect").addEventListener("click", function () { playground.login({ screen_hint: "signup" }); });
    $("login-popup").addEventListener("click", function () { playground.popup(); });
    $("get-token").addEventListener("click", function () { playground.token({ cacheMode: "off" }); });
    $("logout").addEventListener("click", function () { playground.logout(); });

    var query = new URLSearchParams(window.location.search);
    if (query.has("state") && (query.has("code") || query.has("error"))) {
      var result = await run("callback", async function () {
        await client.handleRedirectCallback();
        return { user: await showUser() };
      });
      window.history.replaceState({}, document.title, window.location.pathname);
      setStatus(result.ok ? "signed in" : "failed: " + result.error);
    } else {
      setStatus("ready");
    }
    document.body.dataset.ready = "true";
  }
  playground.started = start();
})();
