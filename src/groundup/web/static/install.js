// groundup on the device: registers the service worker (the app then opens without a
// network and can be installed), shows the install button when the browser offers one,
// guesses the time zone on the reminders page, and turns on notifications there.
(function () {
  "use strict";

  var offered = null;

  function show(selector, visible) {
    document.querySelectorAll(selector).forEach(function (el) { el.hidden = !visible; });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // our own button asks, where the person can see why
    offered = event;
    show("[data-install]", true);
  });

  window.addEventListener("appinstalled", function () {
    offered = null;
    show("[data-install]", false);
    show("[data-installed]", true);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-install]");
    if (!button || !offered) return;
    offered.prompt();
    offered.userChoice.then(function () { offered = null; show("[data-install]", false); });
  });

  function bytes(base64url) {
    var text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/") +
      "====".slice(0, (4 - base64url.length % 4) % 4));
    var out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i += 1) out[i] = text.charCodeAt(i);
    return out;
  }

  function deviceName() {
    var agent = navigator.userAgent;
    var system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iPhone or iPad"
      : /Mac OS X/.test(agent) ? "Mac" : /Windows/.test(agent) ? "Windows" : /Linux/.test(agent) ? "Linux" : "";
    var browser = /Edg\//.test(agent) ? "Edge" : /Firefox\//.test(agent) ? "Firefox"
      : /Chrome\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "A browser";
    return system ? browser + " on " + system : browser;
  }

  function notifications(root) {
    var button = root.querySelector("[data-push-subscribe]");
    var status = root.querySelector("[data-push-status]");
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      status.textContent = "This browser cannot show notifications from groundup; e-mail reminders still work.";
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "Asking your browser…";
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") throw new Error("blocked");
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: bytes(root.dataset.key),
        });
      }).then(function (subscription) {
        var json = subscription.toJSON();
        return fetch("/me/reminders/devices", {
          method: "POST",
          credentials: "same-origin",
          body: new URLSearchParams({
            csrf: root.dataset.csrf, endpoint: json.endpoint,
            p256dh: json.keys.p256dh, auth: json.keys.auth, device: deviceName(),
          }),
        });
      }).then(function (response) {
        if (!response.ok) throw new Error("refused");
        window.location.assign("/me/reminders?done=device");
      }).catch(function (error) {
        status.textContent = error.message === "blocked"
          ? "Notifications are blocked for groundup in this browser's settings."
          : "Notifications could not be turned on here just now. Please try again later.";
      });
    });
  }

  function guessZone(form) {
    var select = form.querySelector("[data-zone]");
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    if (select && zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (offered) show("[data-install]", true);
    document.querySelectorAll("[data-push]").forEach(notifications);
    document.querySelectorAll("form[data-zone-guess='yes']").forEach(guessZone);
  });
})();
