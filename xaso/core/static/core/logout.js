// Signing out of a shared phone takes this user's offline copies off it: the household lists
// and visit queue the visit app keeps in localStorage (survey/visits.js), the app's cached page,
// and the push subscription that would show their alerts to the next user. Unsent visits would
// be lost with them, so the user is asked first.
(function () {
  "use strict";
  var form = document.querySelector("form.logout");
  if (!form) return;
  var prefix = "xaso.survey." + form.dataset.user + ".";

  function unsentVisits() {
    try {
      var queue = JSON.parse(localStorage.getItem(prefix + "queue") || "[]");
      return queue.filter(function (item) { return item.state === "pending"; }).length;
    } catch (error) {
      return 0;
    }
  }

  function forgetLocalData() {
    Object.keys(localStorage).forEach(function (key) {
      if (key.indexOf(prefix) === 0) localStorage.removeItem(key);
    });
    var cachedPages = !window.caches ? Promise.resolve() : caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("xaso-survey-") === 0;
      }).map(function (name) { return caches.delete(name); }));
    });
    var push = !navigator.serviceWorker ? Promise.resolve() :
      navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (registration) {
          return registration.pushManager && registration.pushManager.getSubscription().then(function (subscription) {
            return subscription && subscription.unsubscribe();
          });
        }));
      });
    // Whatever fails here (no storage access, a private window), signing out still goes on.
    return Promise.all([cachedPages, push]).catch(function () { return null; });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var unsent = unsentVisits();
    if (unsent && !window.confirm(form.dataset.unsentWarning.replace("{n}", unsent))) return;
    forgetLocalData().then(function () { form.submit(); });
  });
})();
