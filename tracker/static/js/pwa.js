/* The installable web app (docs/patient-app.md): registers the service worker, offers
   "Add to home screen" where the browser allows it (and explains it on iPhone and iPad),
   and, on the Account page, turns notifications on or off for this device.
   Everything here is an enhancement: every page works without it. */
(function () {
  "use strict";

  var supportsWorker = "serviceWorker" in navigator && window.isSecureContext;
  if (supportsWorker) {
    navigator.serviceWorker.register("/sw.js", {scope: "/"}).catch(function () {});
  }

  function show(selector, visible) {
    document.querySelectorAll(selector).forEach(function (element) {
      element.hidden = !visible;
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  // --- Add to home screen -----------------------------------------------------------------
  var installPrompt = null;
  var standalone = window.matchMedia("(display-mode: standalone)").matches ||
    window.navigator.standalone === true;
  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();
    installPrompt = event;
    show("[data-install-hint]", true);
  });
  window.addEventListener("appinstalled", function () {
    installPrompt = null;
    show("[data-install-hint]", false);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-install-button]");
    if (!button || !installPrompt) {
      return;
    }
    installPrompt.prompt();
    installPrompt.userChoice.finally(function () {
      installPrompt = null;
      show("[data-install-hint]", false);
    });
  });
  var apple = /iPhone|iPad|iPod/.test(navigator.userAgent) ||
    (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  if (apple && !standalone) {
    show("[data-ios-hint]", true);
  }

  // --- Notifications on this device (Account page) -------------------------------------------
  var panel = document.querySelector("[data-push-panel]");
  if (!panel) {
    return;
  }
  var statusText = panel.querySelector("[data-push-status]");

  function say(text) {
    if (statusText) {
      statusText.textContent = text;
    }
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (response) {
      if (!response.ok && response.status !== 404) {
        throw new Error("HTTP " + response.status);
      }
      return response.status === 204 ? {} : response.json();
    });
  }

  function endpointHash(endpoint) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint)).then(function (digest) {
      return Array.from(new Uint8Array(digest)).map(function (b) {
        return b.toString(16).padStart(2, "0");
      }).join("");
    });
  }

  function thisDeviceId(subscription) {
    return endpointHash(subscription.endpoint).then(function (hash) {
      var row = document.querySelector("[data-endpoint-hash='" + hash + "']");
      return row ? row.getAttribute("data-subscription-id") : null;
    });
  }

  function refresh() {
    if (!supportsWorker || !("PushManager" in window) || !("Notification" in window)) {
      say("This browser cannot show notifications from the tracker. Reminders come by text message or e-mail instead.");
      show("[data-push-on], [data-push-off]", false);
      return Promise.resolve();
    }
    if (Notification.permission === "denied") {
      say("Notifications are blocked for this site in your browser settings. Allow them there to get reminders on this device.");
      show("[data-push-on], [data-push-off]", false);
      return Promise.resolve();
    }
    return navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) {
        say("Notifications are off on this device.");
        show("[data-push-on]", true);
        show("[data-push-off]", false);
        return;
      }
      return thisDeviceId(subscription).then(function (id) {
        if (!id) {
          // Subscribed in the browser but unknown to the server (e.g. signed in as someone
          // else before): store it for this patient.
          return api("POST", "/api/v1/push-subscriptions/", subscription.toJSON()).then(function () {
            window.location.reload();
          });
        }
        say("Notifications are on for this device.");
        show("[data-push-on]", false);
        show("[data-push-off]", true);
      });
    }).catch(function () {
      say("Could not check notifications on this device. Try again later.");
    });
  }

  function turnOn() {
    say("Turning notifications on…");
    var keyPromise = api("GET", "/api/v1/push/key/");
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        throw new Error("permission " + permission);
      }
      return Promise.all([navigator.serviceWorker.ready, keyPromise]);
    }).then(function (both) {
      return both[0].pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(both[1].public_key)
      });
    }).then(function (subscription) {
      return api("POST", "/api/v1/push-subscriptions/", subscription.toJSON());
    }).then(function () {
      window.location.reload();
    }).catch(function (error) {
      say("Notifications could not be turned on (" + error.message + "). Reminders still come by text message or e-mail.");
    });
  }

  function turnOff() {
    say("Turning notifications off…");
    return navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) {
        return null;
      }
      return thisDeviceId(subscription).then(function (id) {
        return subscription.unsubscribe().then(function () {
          return id ? api("DELETE", "/api/v1/push-subscriptions/" + id + "/") : null;
        });
      });
    }).then(function () {
      window.location.reload();
    }).catch(function (error) {
      say("Notifications could not be turned off (" + error.message + ").");
    });
  }

  panel.addEventListener("click", function (event) {
    if (event.target.closest("[data-push-subscribe]")) {
      event.preventDefault();
      turnOn();
    } else if (event.target.closest("[data-push-unsubscribe]")) {
      event.preventDefault();
      turnOff();
    }
  });
  refresh();
})();
