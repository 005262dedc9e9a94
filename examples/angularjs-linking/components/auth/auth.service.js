// components/auth/auth.service.js
//
// The tutorial's authService, on @auth0/auth0-spa-js instead of Lock 10:
//   - the primary account signs in with a redirect and gets an access token for the Management
//     API (audience <domain>/api/v2/) with read:current_user and update:current_user_identities;
//   - linkAccount() signs the second account in through a popup with a SECOND Auth0Client that
//     keeps its tokens in memory and always asks for a fresh sign-in, then POSTs its ID token as
//     {"link_with": ...} to /api/v2/users/{id}/identities;
//   - unLinkAccount(identity) sends DELETE /api/v2/users/{id}/identities/{provider}/{user_id};
//   - after both, the profile (with its identities) is read again from GET /api/v2/users/{id}.
// Errors are turned into {status, message} and handed back: the page shows them.
(function () {
  'use strict';

  var SCOPE = 'openid profile email read:current_user update:current_user_identities';
  // Reading an email code from a mailbox takes a person longer than spa-js's 60 s default.
  var POPUP_TIMEOUT_SECONDS = 600;

  authService.$inject = ['authConfig', '$q', '$http', '$window'];
  function authService(authConfig, $q, $http, $window) {
    var AUTH0_DOMAIN = authConfig.domain; // "http://localhost:8000": spa-js expects iss "http://localhost:8000/"
    var AUTH0_CLIENT_ID = authConfig.clientId;
    var redirectUri = $window.location.origin + '/';

    // The primary account's client. Its tokens survive a reload (localStorage), like the
    // id_token and profile the original sample kept there.
    var auth0Client = new $window.auth0.Auth0Client({
      domain: AUTH0_DOMAIN,
      clientId: AUTH0_CLIENT_ID,
      cacheLocation: 'localstorage',
      authorizationParams: {
        redirect_uri: redirectUri,
        audience: authConfig.audience,
        scope: SCOPE
      }
    });

    var state = { ready: false, isAuthenticated: false, profile: null };
    var ready = $q.defer();

    // -- errors --------------------------------------------------------------------------

    // One shape for every failure: {status, message}. Management API errors keep Auth0's body
    // ({statusCode, error, message, errorCode}); spa-js errors keep error/error_description.
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
      if (error && error.error) { // spa-js: GenericError, PopupTimeoutError, PopupCancelledError...
        return { status: 0, error: error.error, message: error.error_description || error.message || error.error };
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
      return $q.when(auth0Client.loginWithRedirect()).catch(fail);
    }

    function signup() {
      return $q.when(auth0Client.loginWithRedirect({
        authorizationParams: { screen_hint: 'signup' }
      })).catch(fail);
    }

    function logout() {
      $window.localStorage.removeItem('profile');
      return $q.when(auth0Client.logout({ logoutParams: { returnTo: redirectUri } })).catch(fail);
    }

    function getToken() {
      return $q.when(auth0Client.getTokenSilently());
    }

    // Back from Tether with ?code=&state= (or ?error=): finish the sign-in, then read the profile.
    function handleAuthentication() {
      var query = $window.location.search;
      var returning = /[?&](code|error)=/.test(query) && /[?&]state=/.test(query);
      var work = returning
        ? $q.when(auth0Client.handleRedirectCallback()).finally(function () {
          $window.history.replaceState({}, $window.document.title, $window.location.pathname);
        })
        : $q.when();
      return work
        .then(function () { return $q.when(auth0Client.isAuthenticated()); })
        .then(function (authenticated) {
          state.isAuthenticated = authenticated;
          return authenticated ? refreshProfile() : null;
        })
        .catch(function (error) {
          if (error && error.error === 'login_required') {
            // The session at Tether has ended (logout elsewhere, or an unlink ends it): forget
            // the tokens kept here, and offer to log in again.
            state.isAuthenticated = false;
            $window.localStorage.removeItem('profile');
            auth0Client.logout({ openUrl: false });
            state.error = { status: 0, message: 'Your session has ended: log in again.' };
            return null;
          }
          state.error = describe(error);
          return null;
        })
        .finally(function () {
          state.ready = true;
          ready.resolve(state);
        });
    }

    function whenReady() {
      return ready.promise;
    }

    // GET /api/v2/users/{id}: the full profile, identities included (the tutorial's getProfile).
    function refreshProfile() {
      return $q.all([$q.when(auth0Client.getUser()), getToken()])
        .then(function (results) {
          var user = results[0];
          var token = results[1];
          return $http({
            method: 'GET',
            url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(user.sub),
            headers: { Authorization: 'Bearer ' + token }
          });
        })
        .then(function (response) {
          var profile = response.data;
          $window.localStorage.setItem('profile', JSON.stringify(profile));
          state.profile = profile;
          return profile;
        })
        .catch(fail);
    }

    // -- linking ----------------------------------------------------------------------------

    function linkAccount() {
      try {
        var profile = JSON.parse($window.localStorage.getItem('profile'));
      } catch (e) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }
      if (!profile) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }

      // The second account's client: same application, tokens in memory only, so it never
      // touches the primary's session in localStorage; and a fresh sign-in every time.
      var linkClient = new $window.auth0.Auth0Client({
        domain: AUTH0_DOMAIN,
        clientId: AUTH0_CLIENT_ID,
        cacheLocation: 'memory',
        authorizationParams: {
          redirect_uri: $window.location.origin,
          scope: 'openid profile email'
        }
      });

      // loginWithPopup opens the popup before its first await: still inside the click.
      var popup = linkClient.loginWithPopup(
        { authorizationParams: { prompt: 'login', max_age: 0 } },
        { timeoutInSeconds: POPUP_TIMEOUT_SECONDS }
      );

      return $q.when(popup)
        .then(function () { return $q.all([linkClient.getIdTokenClaims(), getToken()]); })
        .then(function (results) {
          var secondaryIdToken = results[0].__raw;
          var token = results[1];
          return $http({
            method: 'POST',
            url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(profile.user_id) + '/identities',
            headers: {
              Authorization: 'Bearer ' + token
            },
            data: {
              link_with: secondaryIdToken
            }
          });
        })
        .then(function () {
          return refreshProfile();
        })
        .catch(fail);
    }

    function unLinkAccount(identity) {
      try {
        var profile = JSON.parse($window.localStorage.getItem('profile'));
      } catch (e) {
        return $q.reject({ status: 0, message: 'No profile: sign in first.' });
      }

      return getToken()
        .then(function (token) {
          return $http({
            method: 'DELETE',
            url: AUTH0_DOMAIN + '/api/v2/users/' + encodeURIComponent(profile.user_id) +
              '/identities/' + encodeURIComponent(identity.provider) + '/' + encodeURIComponent(identity.user_id),
            headers: {
              Authorization: 'Bearer ' + token
            }
          });
        })
        .then(function () {
          return refreshProfile();
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
      refreshProfile: refreshProfile,
      linkAccount: linkAccount,
      unLinkAccount: unLinkAccount
    };
  }

  angular.module('app').service('authService', authService);
})();
