// Buttons marked data-print print the page (the content security policy allows no inline
// handlers, so the click is bound here).
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
