// The brand form: a colour picker beside the accent colour's text field, each following the
// other. Without this script the field takes a typed #rrggbb.
(function () {
  "use strict";

  var picker = document.querySelector("[data-colour-picker]");
  var field = document.getElementById("id_accent_color");
  if (!picker || !field) return;
  var HEX = /^#[0-9a-f]{6}$/i;

  function fromField() {
    if (HEX.test(field.value.trim())) picker.value = field.value.trim().toLowerCase();
  }
  fromField();
  picker.hidden = false;
  picker.addEventListener("input", function () {
    field.value = picker.value;
  });
  field.addEventListener("input", fromField);
})();
