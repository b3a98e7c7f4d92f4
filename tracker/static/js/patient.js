/* Patient pages: small progressive enhancements. Everything works without this file. */
(function () {
  "use strict";

  // After htmx swaps a dose card in, move keyboard and screen-reader focus to it, so the
  // person is not left on a button that no longer exists.
  document.addEventListener("htmx:afterSettle", function () {
    var target = document.querySelector("[data-focus]");
    if (target) {
      target.removeAttribute("data-focus");
      target.focus();
    }
  });

  // A form marked data-once is sent once: a second tap while the first is on its way
  // would otherwise send a second report (doses are also protected server-side).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once")) {
      return;
    }
    if (form.getAttribute("data-sending") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sending", "true");
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
    });
    // If the page stays (htmx, or a failed request), allow sending again after a while.
    window.setTimeout(function () {
      form.removeAttribute("data-sending");
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.removeAttribute("aria-disabled");
      });
    }, 8000);
  }, true);

  // A text box with a limit counts down (triage.md: notes up to 2,000 characters; the box
  // stops there, so a long note never sinks a report). Announced only near the end.
  document.querySelectorAll("textarea[maxlength][data-countdown]").forEach(function (area) {
    var max = parseInt(area.getAttribute("maxlength"), 10);
    var out = document.createElement("p");
    out.className = "hint countdown";
    out.id = area.id + "-count";
    area.insertAdjacentElement("afterend", out);
    function update() {
      var left = max - area.value.length;
      out.textContent = left + (left === 1 ? " character" : " characters") + " left";
      if (left <= 100) {
        out.setAttribute("aria-live", "polite");
      } else {
        out.removeAttribute("aria-live");
      }
    }
    area.addEventListener("input", update);
    update();
  });

  // Error summary: put focus on it so the problems are read out first.
  var summary = document.querySelector(".error-summary[tabindex]");
  if (summary) {
    summary.focus();
  }
})();
