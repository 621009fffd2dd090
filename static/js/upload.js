// Uploads photos a few at a time, each with its own progress bar, result and retry button.
// Without JavaScript the form posts all files at once and the page reloads with messages.
(function () {
  "use strict";
  const form = document.querySelector("[data-upload-form]");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const panel = document.querySelector("[data-upload-progress]");
  const list = panel.querySelector("[data-upload-list]");
  const overall = panel.querySelector("[data-upload-overall]");
  const summary = panel.querySelector("[data-upload-summary]");
  const http = window.Viewport.http;
  const IN_FLIGHT = 3;
  const MAX_RETRIES = 20;
  const jobs = [];
  let running = 0;

  form.classList.add("dropzone--enhanced");
  form.querySelector("[data-no-js-submit]").hidden = true;

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach(function (type) {
    form.addEventListener(type, function (event) {
      event.preventDefault();
      form.classList.add("dropzone--active");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    form.addEventListener(type, function (event) {
      event.preventDefault();
      form.classList.remove("dropzone--active");
    });
  });
  form.addEventListener("drop", function (event) {
    addFiles(event.dataTransfer.files);
  });

  // Files dropped on a set (its heading in the grid, or its line in the sets panel) go into it.
  function hasFiles(event) {
    return Array.prototype.includes.call(event.dataTransfer.types, "Files");
  }
  function setTarget(event) {
    return event.target.closest && event.target.closest("[data-upload-set]");
  }
  document.addEventListener("dragover", function (event) {
    const target = setTarget(event);
    if (!target || !hasFiles(event)) return;
    event.preventDefault();
    target.classList.add("is-drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    const target = setTarget(event);
    if (target && !target.contains(event.relatedTarget)) target.classList.remove("is-drop-target");
  });
  document.addEventListener("drop", function (event) {
    const target = setTarget(event);
    if (!target || !hasFiles(event)) return;
    event.preventDefault();
    target.classList.remove("is-drop-target");
    addFiles(event.dataTransfer.files, target.dataset.uploadSet);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });

  function addFiles(files, setId) {
    const chosen = form.querySelector("[data-upload-set-choice]");
    if (setId === undefined) setId = chosen ? chosen.value : "";
    Array.prototype.forEach.call(files, function (file) {
      const item = document.createElement("li");
      item.className = "upload-item";
      item.innerHTML =
        '<span class="upload-item__name"></span>' +
        '<progress max="100" value="0"></progress>' +
        '<span class="upload-item__status" aria-live="polite">Waiting…</span>' +
        '<button type="button" class="btn btn--small btn--ghost" hidden>Retry</button>';
      item.querySelector(".upload-item__name").textContent = file.name;
      item.querySelector("progress").setAttribute("aria-label", "Upload progress for " + file.name);
      const job = { file: file, setId: setId, item: item, loaded: 0, state: "waiting" };
      item.querySelector("button").addEventListener("click", function () {
        job.state = "waiting";
        job.loaded = 0;
        setStatus(job, "Waiting…", "");
        this.hidden = true;
        pump();
      });
      jobs.push(job);
      list.appendChild(item);
    });
    panel.hidden = false;
    pump();
  }

  function pump() {
    while (running < IN_FLIGHT) {
      const job = jobs.find(function (j) { return j.state === "waiting"; });
      if (!job) break;
      send(job);
    }
    update();
  }

  function send(job) {
    running += 1;
    job.state = "uploading";
    setStatus(job, "Uploading…", "");
    const data = new FormData();
    data.append("photos", job.file, job.file.name);
    if (job.setId) data.append("set_id", job.setId);
    http.send(form.action, {
      form: data,
      retries: MAX_RETRIES,
      onRetry: function () {
        // The server is processing many photos: this one goes again shortly.
        job.loaded = 0;
        setStatus(job, "Queued, the server is busy…", "");
        update();
      },
      onProgress: function (fraction) {
        job.loaded = fraction;
        job.item.querySelector("progress").value = Math.round(fraction * 95);
        update();
      },
    }).then(function (answer) {
      if (answer.data && answer.data.photos && answer.data.photos.length) {
        finish(job, "done", "Done");
      } else {
        finish(job, "failed", http.errorMessage(answer, "The server could not store this file (HTTP " + answer.status + ")."));
      }
    }, function (error) {
      finish(job, "failed", error.message);
    });
  }

  function finish(job, state, message) {
    running -= 1;
    job.state = state;
    job.loaded = 1;
    job.item.querySelector("progress").value = 100;
    setStatus(job, message, state);
    job.item.querySelector("button").hidden = state !== "failed";
    pump();
  }

  function setStatus(job, message, state) {
    job.item.querySelector(".upload-item__status").textContent = message;
    job.item.dataset.state = state || job.state;
  }

  function update() {
    const done = jobs.filter(function (j) { return j.state === "done"; }).length;
    const failed = jobs.filter(function (j) { return j.state === "failed"; }).length;
    const progress = jobs.reduce(function (sum, j) {
      return sum + (j.state === "done" || j.state === "failed" ? 1 : j.state === "uploading" ? j.loaded : 0);
    }, 0);
    overall.value = jobs.length ? Math.round((progress / jobs.length) * 100) : 0;
    const finished = done + failed === jobs.length;
    summary.textContent = finished
      ? done + " of " + jobs.length + " uploaded" + (failed ? ", " + failed + " failed" : "") + "."
      : "Uploading " + (done + failed) + " of " + jobs.length + "…";
    panel.dataset.state = finished ? (failed ? "failed" : "done") : "uploading";
    if (finished && !failed && done) {
      summary.textContent += " Refreshing…";
      window.setTimeout(function () { window.location.reload(); }, 800);
    } else if (finished && done && !panel.querySelector("[data-refresh]")) {
      const link = document.createElement("a");
      link.href = window.location.pathname;
      link.className = "btn btn--small btn--ghost";
      link.dataset.refresh = "";
      link.textContent = "Show uploaded photos";
      summary.after(link);
    }
  }
})();
