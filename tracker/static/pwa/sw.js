/* The tracker's service worker (served at /sw.js, scope "/"; docs/patient-app.md).

   What it keeps: the offline page (the advice-line number and 999) and the few static files
   it needs. Nothing else: no page a patient has seen, no API answer, no dose or symptom is
   ever cached, so a shared or lost phone shows nothing of anyone's treatment offline.

   What it does: when a page of the tracker cannot be loaded (no network), it shows the
   offline page instead; it shows dose reminders pushed by the server (Web Push) and answers
   their two actions: "Taken" POSTs the reminder's single-use link (no session, no body) and
   "Open" opens the tracker. */
"use strict";

var VERSION = "tracker-offline-v1";
var OFFLINE_URL = "/offline/";
var OFFLINE_ASSETS = [OFFLINE_URL, "/static/css/site.css", "/static/pwa/icon-192.png"];
var REFRESH_EVERY_MS = 60 * 60 * 1000;
var lastRefresh = 0;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(VERSION).then(function (cache) {
      return cache.addAll(OFFLINE_ASSETS);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name !== VERSION;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

// The offline page carries the patient's advice-line number, which their team may change:
// fetch it again now and then while online (never a patient's own data: see /offline/).
function refreshOfflinePage() {
  var now = Date.now();
  if (now - lastRefresh < REFRESH_EVERY_MS) {
    return Promise.resolve();
  }
  lastRefresh = now;
  return caches.open(VERSION).then(function (cache) {
    return cache.add(OFFLINE_URL);
  }).catch(function () {});
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  // Only page loads of this site; everything else goes to the network untouched.
  if (request.mode !== "navigate" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  event.respondWith(
    fetch(request).then(function (response) {
      event.waitUntil(refreshOfflinePage());
      return response;
    }).catch(function () {
      return caches.match(OFFLINE_URL, {ignoreSearch: true}).then(function (cached) {
        return cached || new Response(
          "You are offline. If you feel unwell, call your advice line. In an emergency call 999.",
          {headers: {"Content-Type": "text/plain; charset=utf-8"}}
        );
      });
    })
  );
});

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  var title = data.title || "Medicine reminder";
  var actions = (data.actions || []).map(function (action) {
    return {action: action.action, title: action.title || action.action};
  });
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || "reminder",
    renotify: true,
    requireInteraction: true,
    icon: "/static/pwa/icon-192.png",
    badge: "/static/pwa/icon-192.png",
    actions: actions,
    data: {taken_url: data.taken_url || null, open_url: data.open_url || "/me/"}
  }));
});

function openTracker(url) {
  return self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (new URL(windows[i].url).origin === self.location.origin && "focus" in windows[i]) {
        return windows[i].navigate(url).then(function (client) {
          return (client || windows[i]).focus();
        }).catch(function () {
          return windows[i].focus();
        });
      }
    }
    return self.clients.openWindow(url);
  });
}

self.addEventListener("notificationclick", function (event) {
  var notification = event.notification;
  var data = notification.data || {};
  notification.close();
  if (event.action === "taken" && data.taken_url) {
    event.waitUntil(
      fetch(data.taken_url, {method: "POST", credentials: "omit", cache: "no-store"}).then(function (response) {
        if (response.ok) {
          return self.registration.showNotification("Recorded as taken", {
            body: "Thank you. You can see it in the tracker.",
            tag: notification.tag,
            icon: "/static/pwa/icon-192.png",
            data: {open_url: data.open_url}
          });
        }
        // Already recorded, expired or refused: let the patient see and log it themselves.
        return openTracker(data.open_url);
      }).catch(function () {
        return openTracker(data.open_url);
      })
    );
    return;
  }
  event.waitUntil(openTracker(data.open_url || "/me/"));
});
