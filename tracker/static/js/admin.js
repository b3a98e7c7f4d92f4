/* Admin helpers (loaded on every admin page by templates/admin/base_site.html; no inline
   script, the CSP forbids it).
   1. Searchable (autocomplete) fields: Select2 names its combobox after the chosen value
      only, so an empty one has no accessible name (axe: serious). Name it after the
      field's label too.
   2. New prescription: Times of day follows the chosen drug's usual times (once daily
      09:00, twice daily 08:00 and 20:00) until the person types their own. */
(function () {
  "use strict";

  function nameComboboxes() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var container = select.nextElementSibling;
      if (!label || !container) return;
      var combobox = container.querySelector('[role="combobox"]');
      if (!combobox) return;
      if (!label.id) label.id = select.id + "-label";
      var rendered = combobox.querySelector(".select2-selection__rendered");
      var names = [label.id];
      if (rendered && rendered.id) {
        names.push(rendered.id);
        // The chosen value's own box (role "textbox") is named after the field too.
        rendered.setAttribute("aria-labelledby", label.id);
      }
      combobox.setAttribute("aria-labelledby", names.join(" "));
    });
  }

  function followDrugTimes() {
    var times = document.querySelector("input[data-usual-times]");
    var drug = document.getElementById("id_drug");
    if (!times || !drug) return;
    var usual = JSON.parse(times.getAttribute("data-usual-times"));
    var filled = "";
    function fill() {
      var wanted = usual[drug.value] || "";
      if (times.value === "" || times.value === filled) {
        times.value = wanted;
        filled = wanted;
      }
    }
    drug.addEventListener("change", fill);
    fill();
  }

  function start() {
    followDrugTimes();
    nameComboboxes();
    // Select2 builds its widgets when jQuery is ready (before or after this runs) and again
    // for every inline row added: name them whenever new elements appear.
    if (document.querySelector("select.admin-autocomplete") && window.MutationObserver) {
      new MutationObserver(function (changes) {
        if (changes.some(function (c) { return c.addedNodes.length; })) nameComboboxes();
      }).observe(document.body, { childList: true, subtree: true });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", nameComboboxes);
})();
