// Signing up: the browser's time zone (an IANA name such as Europe/Berlin) goes with the form,
// so the photographer's times are theirs from the start. Without it the site's zone is used.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    zone = "";
  }
  document.querySelectorAll("[data-guess-time-zone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
})();
