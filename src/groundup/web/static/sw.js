// groundup's service worker. It keeps the app's own files on the device so the app opens
// without a network, keeps a copy of the person's own pages as they last loaded them
// (never a clinician's pages), and shows the reminders that arrive by Web Push. Today's
// page carries the day's whole session, so a step that cannot reach the server is answered
// with that page, whose script (offline.js) carries on with the session on the device.
"use strict";

var VERSION = "2";
// The server writes a digest of the app's own files here, so that a changed style sheet or
// script makes a new worker with a fresh copy of them (the person's pages are kept).
var ASSETS = "unversioned";
var SHELL = "groundup-shell-" + VERSION + "-" + ASSETS;
var PAGES = "groundup-pages-" + VERSION;
var SHELL_FILES = [
  "/offline",
  "/manifest.webmanifest",
  "/static/app.css",
  "/static/app.js",
  "/static/install.js",
  "/static/offline.js",
  "/static/icons/icon-192.png",
  "/static/icons/badge-96.png",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_FILES); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("groundup-") === 0 && name !== SHELL && name !== PAGES;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// Pages worth keeping: the person's own (under /me) and the public ones.
function keepsPage(path) {
  return path === "/me" || path.indexOf("/me/") === 0 || path === "/" || path === "/login";
}

function fromShell(request) {
  // Static files: the stored copy at once, refreshed in the background for next time.
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request).then(function (stored) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (stored) {
        fresh.catch(function () {});
        return stored;
      }
      return fresh;
    });
  });
}

// The person's Today, kept fresh while a session is played (a page asks with a message),
// so the session can be carried on from it without a network.
function keepToday(path) {
  if (path !== "/me") return Promise.resolve();
  return caches.open(PAGES).then(function (cache) {
    return cache.match(path).then(function (stored) {
      if (stored) return;  // every visit to Today refreshes it anyway
      return fetch(path, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok || response.redirected || response.type !== "basic") return;
        return cache.put(path, response);
      });
    });
  }).catch(function () {});
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.keep) event.waitUntil(keepToday(event.data.keep));
});

function stepOffline(request) {
  // A step of the session player that cannot reach the server: Today's page from the
  // device, whose script carries on with the session from the copy it kept.
  return fetch(request).catch(function () {
    return caches.open(PAGES).then(function (cache) { return cache.match("/me"); })
      .then(function (stored) { return stored || caches.match("/offline"); });
  });
}

function page(request, path) {
  // Pages: the network first; without it, the copy from the last visit, else a page
  // that says there is no connection.
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected && keepsPage(path)) {
      var copy = response.clone();
      caches.open(PAGES).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(request, { ignoreSearch: true }).then(function (stored) {
        if (stored) return stored;
        return path === "/" ? cache.match("/me") : undefined;
      });
    }).then(function (stored) {
      return stored || caches.match("/offline");
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    // Signing in or out: the copies of the last person's pages go.
    if (url.pathname === "/logout" || url.pathname === "/login") {
      event.waitUntil(caches.delete(PAGES));
    }
    if (request.method === "POST" && request.mode === "navigate" &&
        url.pathname.indexOf("/me/session/") === 0) {
      event.respondWith(stepOffline(request));
    }
    return;
  }
  if (url.pathname.indexOf("/static/") === 0 || url.pathname === "/manifest.webmanifest") {
    event.respondWith(fromShell(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(request, url.pathname));
  }
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var title = data.title || "groundup";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    // The same reminder arriving twice replaces itself instead of showing twice.
    tag: data.tag || "groundup",
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/badge-96.png",
    data: { url: data.url || "/me" },
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/me",
    self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (open) {
      for (var i = 0; i < open.length; i += 1) {
        if (open[i].url === target && "focus" in open[i]) return open[i].focus();
      }
      return self.clients.openWindow(target);
    })
  );
});
