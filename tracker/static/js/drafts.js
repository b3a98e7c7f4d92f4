/* Never lose a report (issue 13). A form marked data-draft="name" is kept on this device
   (localStorage) as it is typed, so a report typed when the session has expired survives
   the trip through the sign-in page: it is put back when the form is opened again by the
   same person, and removed once it has been sent (a page marked data-draft-sent) or when
   someone signs out. A draft of another account on the same phone is dropped, never shown.
   Also: the warning before a short session ends (data-session-seconds). */
(function () {
  "use strict";
  var PREFIX = "tracker-draft:";

  function storage() {
    try {
      var probe = PREFIX + "probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (error) {
      return null; // private mode or storage off: the form still works, without drafts
    }
  }
  var store = storage();

  function keyOf(name) {
    return PREFIX + name;
  }

  function allDraftKeys() {
    var keys = [];
    for (var i = 0; store && i < store.length; i += 1) {
      var key = store.key(i);
      if (key && key.indexOf(PREFIX) === 0) {
        keys.push(key);
      }
    }
    return keys;
  }

  function fieldsOf(form) {
    var fields = {};
    function add(name, value) {
      if (fields[name] === undefined) {
        fields[name] = value;
      } else {
        fields[name] = [].concat(fields[name], value); // repeated names: a list
      }
    }
    form.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "password") {
        return;
      }
      if (el.type === "hidden" && !el.hasAttribute("data-draft-keep")) {
        return;
      }
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) {
          add(el.name, el.value);
        }
      } else if (el.value !== "") {
        add(el.name, el.value);
      }
    });
    return fields;
  }

  function save(form) {
    if (!store) {
      return;
    }
    var record = {
      owner: form.getAttribute("data-draft-owner") || "",
      saved: Date.now(),
      fields: fieldsOf(form)
    };
    try {
      store.setItem(keyOf(form.getAttribute("data-draft")), JSON.stringify(record));
    } catch (error) {
      /* storage full: nothing more to do */
    }
  }

  function restore(form) {
    var key = keyOf(form.getAttribute("data-draft"));
    var record = null;
    try {
      record = JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      record = null;
    }
    if (!record || !record.fields) {
      return false;
    }
    if (record.owner !== (form.getAttribute("data-draft-owner") || "")) {
      store.removeItem(key); // another account's draft on this phone
      return false;
    }
    var restored = false;
    Object.keys(record.fields).forEach(function (name) {
      var values = [].concat(record.fields[name]);
      var elements = form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']");
      if (!elements.length && form.hasAttribute("data-draft-create")) {
        // The steps' answers travel in hidden fields: put them back as such.
        values.forEach(function (value) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = name;
          input.value = value;
          input.setAttribute("data-draft-keep", "");
          form.appendChild(input);
        });
        restored = true;
        return;
      }
      elements.forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") {
          var match = values.indexOf(el.value) !== -1;
          if (el.checked !== match) {
            restored = true;
          }
          el.checked = match;
        } else if (el.type !== "hidden" || el.hasAttribute("data-draft-keep")) {
          if (el.value !== values[0]) {
            restored = true;
          }
          el.value = values[0];
          el.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
    });
    return restored;
  }

  if (store) {
    // The report was sent: its draft goes (one saved after it was sent is a new report).
    document.querySelectorAll("[data-draft-sent]").forEach(function (el) {
      var key = keyOf(el.getAttribute("data-draft-sent"));
      var sentAt = parseInt(el.getAttribute("data-draft-sent-at"), 10) * 1000 || Date.now();
      try {
        var record = JSON.parse(store.getItem(key) || "null");
        if (record && record.saved <= sentAt + 10 * 60 * 1000) { // phone clocks drift
          store.removeItem(key);
        }
      } catch (error) {
        store.removeItem(key);
      }
    });
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      if (form.hasAttribute("data-draft-restore") && restore(form)) {
        var note = document.querySelector("[data-draft-restored]");
        if (note) {
          note.hidden = false;
        }
      }
      form.addEventListener("input", function () { save(form); });
      form.addEventListener("change", function () { save(form); });
      form.addEventListener("submit", function () { save(form); });
    });
    if (allDraftKeys().length) {
      document.querySelectorAll("[data-draft-note]").forEach(function (el) {
        el.hidden = false;
      });
    }
    document.addEventListener("submit", function (event) {
      if (event.target.hasAttribute && event.target.hasAttribute("data-sign-out")) {
        allDraftKeys().forEach(function (key) { store.removeItem(key); });
      }
    }, true);
  }

  // --- the warning before a short session ends ---------------------------------------------
  var box = document.querySelector("[data-session-seconds]");
  if (!box) {
    return;
  }
  var warnBefore = parseInt(box.getAttribute("data-session-warn"), 10) || 120;
  var endsAt = 0;
  var timer = null;

  function schedule(secondsLeft) {
    endsAt = Date.now() + secondsLeft * 1000;
    box.hidden = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(tick, Math.max(0, (secondsLeft - warnBefore) * 1000));
  }

  function tick() {
    var left = Math.round((endsAt - Date.now()) / 1000);
    var text = box.querySelector("[data-session-text]");
    if (left <= 0) {
      text.textContent = "You have been signed out because the page was left for a while. " +
        "Anything typed in a report is kept on this device: sign in again to send it.";
      box.querySelector("button").hidden = true;
      box.hidden = false;
      return;
    }
    var minutes = Math.ceil(left / 60);
    text.textContent = "You will be signed out in " + minutes +
      (minutes === 1 ? " minute" : " minutes") + " unless you carry on.";
    box.hidden = false;
    timer = window.setTimeout(tick, Math.min(left, 30) * 1000);
  }

  box.querySelector("button").addEventListener("click", function () {
    fetch(box.getAttribute("data-session-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.signed_in) {
          schedule(state.seconds_left);
        } else {
          schedule(0);
        }
      })
      .catch(function () { /* offline: keep the warning up */ });
  });
  // Any request of this page (htmx refreshing the queue) also moved the end on.
  document.addEventListener("htmx:afterRequest", function () {
    schedule(parseInt(box.getAttribute("data-session-seconds"), 10));
  });
  schedule(parseInt(box.getAttribute("data-session-seconds"), 10));
})();
