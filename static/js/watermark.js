// The watermark page: the preview follows the form as it changes, before it is saved. The
// server draws it (the same pixels as what clients get), from the form's fields as they are.
// Without this script the preview shows the saved watermark, and the form saves as usual.
(function () {
  "use strict";

  var form = document.querySelector("[data-watermark-form]");
  var preview = document.querySelector("[data-watermark-preview]");
  var status = document.querySelector("[data-watermark-status]");
  if (!form || !preview || !window.Viewport) return;
  var timer = null;
  var sent = 0;
  var shownUrl = null;

  function showValues() {
    form.querySelectorAll("input[type=range]").forEach(function (range) {
      var output = form.querySelector("output[for=" + range.id + "]");
      if (output) output.textContent = range.value + "%";
    });
  }

  function refresh() {
    var number = ++sent;
    var fields = new FormData(form);
    var file = form.querySelector("input[type=file]");
    if (file && !file.files.length) fields.delete(file.name);
    status.textContent = "Updating the preview…";
    Viewport.http.send(preview.dataset.url, { form: fields, blob: true, accept: "image/jpeg, application/json" })
      .then(function (answer) {
        if (number !== sent) return;
        if (!answer.ok) {
          status.textContent = Viewport.http.errorMessage(answer);
          return;
        }
        if (shownUrl) URL.revokeObjectURL(shownUrl);
        shownUrl = URL.createObjectURL(answer.blob);
        preview.src = shownUrl;
        status.textContent = "Preview of your changes: save them to use them.";
      }, function (error) {
        if (number === sent) status.textContent = error.message;
      });
  }

  function later() {
    showValues();
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  showValues();
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
