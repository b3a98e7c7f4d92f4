/* Nurse dashboard: small progressive enhancements. Every page works without this file
   (forms post and redirect; the queue simply does not refresh itself). No inline script
   anywhere: the Content-Security-Policy allows scripts from this origin only. */
(function () {
  "use strict";

  var baseTitle = document.title;

  function editingInside(element) {
    // A nurse half-way through resolving an alert must not lose what they typed: the
    // table body does not refresh while a resolve form is open or a field in it has focus.
    if (element.querySelector("details.resolve[open]")) {
      return true;
    }
    var active = document.activeElement;
    return !!(active && element.contains(active) && active.matches("input, select, textarea"));
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail.elt;
    if (!element || element.id !== "queue-rows") {
      return;
    }
    if (editingInside(element)) {
      event.preventDefault();
      var status = document.getElementById("refresh-status");
      if (status) {
        status.textContent = "Refresh paused while you resolve an alert";
      }
    }
  });

  // A refresh that was already on its way when the nurse opened a resolve form must not
  // replace it either: its answer is dropped, and the next refresh after the form closes
  // brings the rows up to date.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "queue-rows" && editingInside(target)) {
      event.detail.shouldSwap = false;
      var status = document.getElementById("refresh-status");
      if (status) {
        status.textContent = "Refresh paused while you resolve an alert";
      }
    }
  });

  // After a row is swapped (acknowledged, resolved, or a form with errors), put focus back
  // in that row so keyboard and screen-reader users are not thrown to the top of the page.
  var swappedRowId = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    swappedRowId = null;
    if (target && target.matches && target.matches("tr.queue-row") && target.contains(document.activeElement)) {
      swappedRowId = target.id;
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!swappedRowId) {
      return;
    }
    var row = document.getElementById(swappedRowId);
    swappedRowId = null;
    if (!row) {
      return;
    }
    var focusable = row.querySelector("[aria-invalid=true], details[open] input, summary, button, a");
    if (focusable) {
      focusable.focus();
    }
  });

  // A new red alert also shows in the tab title, for a nurse working in another window.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "red-banner") {
      document.title = target.querySelector(".red-banner") ? "New red alert – " + baseTitle : baseTitle;
    }
  });

  // A page shown again with form errors: move focus to the summary of the problems.
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) {
    summary.focus();
  }

  // Resolve forms: the fields an outcome needs (which prescriptions to hold, the new dose,
  // when to attend) show only for that outcome. Without this script they all show.
  function showOutcomeExtras(form) {
    var checked = form.querySelector("input[name$='-outcome']:checked");
    var outcome = checked ? checked.value : "";
    form.querySelectorAll(".outcome-extra").forEach(function (extra) {
      var wanted = extra.getAttribute("data-for-outcome") === outcome;
      extra.hidden = !wanted && !extra.querySelector(".has-error");
    });
  }
  function setUpResolveForms(root) {
    (root || document).querySelectorAll("form.resolve-form").forEach(showOutcomeExtras);
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form.resolve-form");
    if (form && /-outcome$/.test(event.target.name || "")) {
      showOutcomeExtras(form);
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    setUpResolveForms(event.detail.elt);
  });
  setUpResolveForms(document);

  // New red alerts: an opt-in sound and desktop notification, remembered in this browser
  // (localStorage). The notification names no patient: it may show on a shared screen.
  var SOUND_KEY = "nurse.redAlert.sound";
  var DESKTOP_KEY = "nurse.redAlert.desktop";
  var soundBox = document.getElementById("notify-sound");
  var desktopBox = document.getElementById("notify-desktop");
  var notifyStatus = document.getElementById("notify-status");

  function stored(key) {
    try {
      return window.localStorage.getItem(key) === "on";
    } catch (error) {
      return false;
    }
  }
  function store(key, on) {
    try {
      window.localStorage.setItem(key, on ? "on" : "off");
    } catch (error) {
      /* private mode: the choice lasts for this page only */
    }
  }
  function say(text) {
    if (notifyStatus) {
      notifyStatus.textContent = text;
    }
  }

  var audio = null;
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) {
      return;
    }
    audio = audio || new Context();
    [0, 0.35].forEach(function (start) {
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.type = "sine";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, audio.currentTime + start);
      gain.gain.exponentialRampToValueAtTime(0.3, audio.currentTime + start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + start + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + start);
      tone.stop(audio.currentTime + start + 0.3);
    });
  }

  var notifyPanel = document.getElementById("red-alert-notify");
  if (notifyPanel && soundBox && desktopBox) {
    notifyPanel.hidden = false;
    soundBox.checked = stored(SOUND_KEY);
    var canNotify = "Notification" in window;
    desktopBox.checked = canNotify && stored(DESKTOP_KEY) && Notification.permission === "granted";
    if (!canNotify) {
      desktopBox.disabled = true;
      say("This browser cannot show desktop notifications.");
    }
    soundBox.addEventListener("change", function () {
      store(SOUND_KEY, soundBox.checked);
      if (soundBox.checked) {
        beep(); // a sample, and browsers allow sound once the page has been clicked
      }
      say(soundBox.checked ? "Sound on for new red alerts." : "Sound off.");
    });
    desktopBox.addEventListener("change", function () {
      if (!desktopBox.checked) {
        store(DESKTOP_KEY, false);
        say("Desktop notifications off.");
        return;
      }
      Notification.requestPermission().then(function (permission) {
        var granted = permission === "granted";
        desktopBox.checked = granted;
        store(DESKTOP_KEY, granted);
        say(granted ? "Desktop notifications on for new red alerts."
          : "The browser blocked notifications for this site: allow them in its site settings.");
      });
    });
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "queue-announcer") {
      return;
    }
    var fresh = target.querySelectorAll("[data-red-alert-id]");
    if (!fresh.length) {
      return;
    }
    if (stored(SOUND_KEY)) {
      beep();
    }
    if (stored(DESKTOP_KEY) && "Notification" in window && Notification.permission === "granted") {
      var count = fresh.length;
      var note = new Notification(count === 1 ? "New red alert" : count + " new red alerts", {
        body: "Open the advice-line queue: red alerts need acknowledging within 30 minutes.",
        tag: "red-alert-" + fresh[fresh.length - 1].getAttribute("data-red-alert-id"),
        requireInteraction: true
      });
      note.onclick = function () {
        window.focus();
        note.close();
      };
    }
  });
})();
