// Share links on the photographer's pages: copy a link, confirm a revoke, and keep the expiry
// preset and date from contradicting each other. The forms work without this script.
(function () {
  "use strict";

  function copyText(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    var label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    copyText(input).then(
      function () { button.textContent = "Copied!"; },
      function () { input.select(); button.textContent = "Press Ctrl+C to copy"; }
    );
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { button.textContent = label; }, 2000);
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.dataset.revokeConfirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // A preset ("in 30 days") and a date are alternatives: choosing one clears the other.
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-expiry-form]");
    if (!form) return;
    var preset = form.querySelector("[name=expires_in_days]");
    var date = form.querySelector("[name=expires_at]");
    if (!preset || !date) return;
    if (event.target === preset && preset.value) date.value = "";
    if (event.target === date && date.value) preset.value = "";
  });
})();
