/* The header's Menu button (issue 13: at 200% zoom or text size the header stays within a
   quarter of the screen). On narrow screens (in em, so large text counts as narrow) the
   page links fold behind "Menu"; without JavaScript they simply wrap. */
(function () {
  "use strict";
  var button = document.querySelector(".menu-button");
  var nav = document.getElementById("main-nav");
  var header = document.querySelector(".site-header");
  if (!button || !nav || !header) {
    return;
  }
  header.classList.add("has-menu");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("is-open", open);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("is-open")) {
      button.setAttribute("aria-expanded", "false");
      nav.classList.remove("is-open");
      button.focus();
    }
  });
})();
