// components/home/home.controller.js
//
// The tutorial's HomeController: linkAccount(), refreshIdentities() (which drops the primary
// identity, index 0) and unLinkAccount(identity). Failures are shown on the page.
(function () {
  'use strict';

  HomeController.$inject = ['authService'];
  function HomeController(authService) {
    var vm = this;

    vm.auth = authService.state;
    vm.profile = null;
    vm.identities = [];
    vm.error = null;
    vm.notice = null;
    vm.busy = false;

    vm.login = authService.login;
    vm.signup = authService.signup;
    vm.logout = authService.logout;
    vm.linkAccount = linkAccount;
    vm.unLinkAccount = unLinkAccount;
    vm.nameOf = nameOf;

    vm.$onInit = function () {
      authService.whenReady().then(function (state) {
        vm.error = state.error || null;
        if (state.profile) {
          vm.profile = state.profile;
          refreshIdentities();
        }
      });
    };

    function start(label) {
      vm.busy = label;
      vm.error = null;
      vm.notice = null;
    }

    function showError(error) {
      vm.error = error;
    }

    function linkAccount() {
      start('Waiting for the other account to sign in…');
      authService.linkAccount()
        .then(function (profile) {
          vm.profile = profile;
          refreshIdentities();
          vm.notice = 'Account linked.';
        })
        .catch(showError)
        .finally(function () { vm.busy = false; });
    }

    function unLinkAccount(identity) {
      start('Unlinking ' + nameOf(identity) + '…');
      authService.unLinkAccount(identity)
        .then(function (profile) {
          vm.profile = profile;
          refreshIdentities();
          vm.notice = 'Unlinked ' + nameOf(identity) + ': it is a user of its own again.';
        })
        .catch(showError)
        .finally(function () { vm.busy = false; });
    }

    // The first identity is the primary one; the list shows the linked ones.
    function refreshIdentities() {
      var identities = angular.copy(vm.profile.identities || []);
      identities.shift();
      vm.identities = identities;
    }

    function nameOf(identity) {
      var data = identity.profileData || {};
      return data.name || data.email || (identity.provider + '|' + identity.user_id);
    }
  }

  angular.module('app').component('home', {
    templateUrl: 'components/home/home.html',
    controller: HomeController,
    controllerAs: 'vm'
  });
})();
