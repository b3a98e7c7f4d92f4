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
    var focusable = row.querySelector("[aria-invalid=true], details[open] select, summary, button, a");
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
})();
