// components/auth/auth.service.js
//
// The tutorial's authService, as written, on Lock 14 (with its auth0-js 9):
//   - `lock` signs the primary account in (Lock's show(), redirect mode) and gets an ID token
//     and an access token for the Management API (audience <domain>/api/v2/);
//   - linkAccount() opens a SECOND Lock in popup mode (rememberLastLogin: false,
//     auth.redirect: false) for the other account, then POSTs that account's ID token as
//     {"link_with": ...} to /api/v2/users/{id}/identities with the primary's token;
//   - unLinkAccount(identity) sends DELETE /api/v2/users/{id}/identities/{provider}/{user_id};
//   - after both, getProfile() reads the profile (identities and their profileData) again.
// Errors are turned into {status, message} and handed back: the page shows them.
(function () {
  'use strict';

  // The primary's scopes: the two current-user scopes of the Management API the tutorial uses.
  var SCOPE = 'openid profile email read:current_user update:current_user_identities';

  authService.$inject = ['authConfig', '$q', '$http', '$window', '$rootScope'];
  function authService(authConfig, $q, $http, $window, $rootScope) {
    var AUTH0_DOMAIN = authConfig.domain; // "http://localhost:8000": scheme included (see README)
    var AUTH0_CLIENT_ID = authConfig.clientId;
    var redirectUrl = $window.location.origin + '/';

    // What every Lock here shares. On an https Tether, `domain: 'login.example.com'` alone
    // does; on a plain-http one Lock needs to be told where its client script is and which
    // issuer Tether signs with (docs/compatibility.md).
    function lockOptions(options) {
      var base = {
        configurationBaseUrl: AUTH0_DOMAIN,
        overrides: { __token_issuer: authConfig.issuer },
        avatar: null, // no Gravatar lookups: the demo needs no internet
        theme: { logo: $window.location.origin + '/logo.svg' }, // not Auth0's, from its CDN
        languageDictionary: { title: 'Tether' }
      };
      return angular.merge(base, options);
    }

    // The app's Lock (angular-lock's `lock` in the tutorial): redirect mode, Lock's default.
    var lock = new $window.Auth0Lock(AUTH0_CLIENT_ID, AUTH0_DOMAIN, lockOptions({
      auth: {
        redirectUrl: redirectUrl,
        responseType: 'token id_token', // Lock 14's default is 'token': no ID token
        audience: authConfig.audience,
        params: { scope: SCOPE }
      }
    }));

    var state = { ready: false, isAuthenticated: false, profile: null, error: null };
    var ready = $q.defer();

    // -- errors --------------------------------------------------------------------------

    // One shape for every failure: {status, message}. Management API errors keep Auth0's body
    // ({statusCode, error, message, errorCode}); Lock's keep error/errorDescription.
    function describe(error) {
      if (error && error.described) { return error; }
      if (error && error.status !== undefined && error.config) { // an $http response
        var body = error.data || {};
        if (error.status <= 0) {
          return { status: 0, message: 'Tether did not answer (is it running? does it allow this origin?)' };
        }
        return {
          status: error.status,
          error: body.error || body.errorCode,
          errorCode: body.errorCode,
          message: body.message || body.error_description || body.error || ('HTTP ' + error.status)
        };
      }
      if (error && (error.error || error.code)) { // Lock / auth0-js
        return {
          status: 0,
          error: error.error || error.code,
          message: error.errorDescription || error.error_description || error.description || error.error || error.code
        };
      }
      return { status: 0, message: String((error && error.message) || error) };
    }

    function fail(error) {
      var described = describe(error);
      described.described = true;
      return $q.reject(described);
    }

    // -- the primary account ----------------------------------------------------------------

    function login() {
      lock.show();
    }

    function signup() {
      lock.show({ initialScreen: 'signUp' });
    }

    function logout() {
      ['id_token', 'access_token', 'profile'].forEach(function (key) {
        $window.localStorage.removeItem(key);
      });
      lock.logout({ returnTo: redirectUrl });
    }

    // Lock parses the fragment Tether answered with (#access_token=&id_token=&state=) by itself
    // and says what it found: keep the tokens, as the tutorial does, and read the profile.
    lock.on('authenticated', function (authResult) {
      $window.localStorage.setItem('id_token', authResult.idToken);
      $window.localStorage.setItem('access_token', authResult.accessToken);
      lock.hide();
      state.isAuthenticated = true;
      getProfile()
        .catch(function (error) { state.error = error; })
        .finally(finish);
    });
    lock.on('authorization_error', function (error) {
      state.error = describe(error);
      finish();
    });

    function finish() {
      if (/access_token=|error=/.test($window.location.hash)) {
        $window.history.replaceState({}, $window.document.title, $window.location.pathname);
      }
      state.ready = true;
      ready.resolve(state);
      $rootScope.$applyAsync();
    }

    function handleAuthentication() {
      if (/access_token=|error=/.test($window.location.hash)) {
        return; // Lock's events above finish it
      }
      if (!$window.localStorage.getItem('access_token')) {
        finish();
        return;
      }
      state.isAuthenticated = true;
      getProfile()
        .catch(function (error) {
          if (error.status === 401) {
            // The token has expired or the user's access was ended: sign in again.
            forget();
            state.error = { status: 0, message: 'Your session has ended: log in again.' };
            return;
          }
          state.error = error;
        })
        .finally(finish);
    }

    function forget() {
      state.isAuthenticated = false;
      state.profile = null;
      ['id_token', 'access_token', 'profile'].forEach(function (key) {
        $window.localStorage.removeItem(key);
      });
    }

    function whenReady() {
      return ready.promise;
    }

    // The tutorial's lock.getProfile(token) read the profile with its identities (Lock 10's
    // /tokeninfo). Lock 14's getProfile is /userinfo, which has no identities; the Management
    // API has them: GET /api/v2/users/{id} with the read:current_user token.
    function getProfile() {
      var token = $window.localStorage.getItem('access_token');
      var claims = decode($window.localStorage.getItem('id_token'));
      return $http({
        method: 'GET',
        url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(claims.sub),
        headers: { Authorization: 'Bearer ' + token }
      })
        .then(function (response) {
          var profile = response.data;
          $window.localStorage.setItem('profile', JSON.stringify(profile));
          state.profile = profile;
          return profile;
        })
        .catch(fail);
    }

    function decode(jwt) {
      try {
        var part = String(jwt).split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        return JSON.parse(decodeURIComponent(escape($window.atob(part))));
      } catch (e) {
        return {};
      }
    }

    // -- linking ----------------------------------------------------------------------------

    function linkAccount() {
      try {
        var profile = JSON.parse($window.localStorage.getItem('profile'));
        var token = $window.localStorage.getItem('access_token');
      } catch (e) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }
      if (!profile || !token) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }

      // The tutorial's options, plus the response type that brings an ID token back, and
      // prompt=login so a button (the outside provider) asks for a sign-in even though this
      // browser is signed in to Tether as the primary.
      var options = {
        rememberLastLogin: false,
        languageDictionary: { title: 'Link another account' },
        auth: {
          redirect: false,
          redirectUrl: redirectUrl,
          responseType: 'token id_token',
          params: {
            scope: 'openid',
            prompt: 'login'
          }
        }
      };

      var lockLink = new $window.Auth0Lock(AUTH0_CLIENT_ID, AUTH0_DOMAIN, lockOptions(options));
      var deferred = $q.defer();
      var settled = false;

      lockLink.on('authenticated', function (authResult) {
        settled = true;
        $http({
          method: 'POST',
          url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(profile.user_id) + '/identities',
          headers: {
            Authorization: 'Bearer ' + token
          },
          data: {
            link_with: authResult.idToken
          }
        })
          .then(function () {
            lockLink.hide();
            return getProfile();
          })
          .then(deferred.resolve)
          .catch(function (error) {
            lockLink.hide();
            deferred.reject(describe(error));
          });
      });

      // Closing the widget without signing in ends the attempt.
      lockLink.on('hide', function () {
        if (!settled) {
          settled = true;
          deferred.reject({ status: 0, message: 'Linking cancelled: the other account did not sign in.', described: true });
        }
      });

      lockLink.show();

      return deferred.promise;
    }

    function unLinkAccount(identity) {
      try {
        var profile = JSON.parse($window.localStorage.getItem('profile'));
        var token = $window.localStorage.getItem('access_token');
      } catch (e) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }

      return $http({
        method: 'DELETE',
        url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(profile.user_id) +
          '/identities/' + encodeURIComponent(identity.provider) + '/' + encodeURIComponent(identity.user_id),
        headers: {
          Authorization: 'Bearer ' + token
        }
      })
        .then(function () {
          return getProfile();
        })
        .catch(fail);
    }

    return {
      state: state,
      whenReady: whenReady,
      handleAuthentication: handleAuthentication,
      login: login,
      signup: signup,
      logout: logout,
      getProfile: getProfile,
      linkAccount: linkAccount,
      unLinkAccount: unLinkAccount
    };
  }

  angular.module('app').service('authService', authService);
})();
