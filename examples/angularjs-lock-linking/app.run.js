// app.run.js: when the page loads, let Lock finish a sign-in that has just come back from
// Tether (#access_token=...&id_token=...), or pick up the session kept in localStorage.
(function () {
  'use strict';

  run.$inject = ['authService'];
  function run(authService) {
    var booting = document.getElementById('booting');
    if (booting) { booting.parentNode.removeChild(booting); }
    authService.handleAuthentication();
  }

  angular.module('app').run(run);
})();
