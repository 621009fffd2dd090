// Uploads photos a few at a time, each with its own progress bar, speed, time left, result and
// retry button; each file in parts that survive a dropped connection or a reload (send(), below).
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
  const tiles = document.querySelector("[data-upload-tiles]");
  const startUrl = form.dataset.startUrl;
  const http = window.Viewport.http;
  const IN_FLIGHT = 3;
  const MAX_WAITS = 10;  // times in a row a file waits out a server's Retry-After before it fails
  const jobs = [];
  let running = 0;
  let reloading = null;

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

  // A set opened from the sets panel (#set-<id>) is where dropped photos go, until another is
  // chosen: the "Into set" choice follows it.
  function followOpenSet() {
    const chosen = form.querySelector("[data-upload-set-choice]");
    const open = /^#set-([0-9a-f-]{36})$/.exec(window.location.hash);
    if (chosen && open && chosen.querySelector('option[value="' + open[1] + '"]')) chosen.value = open[1];
  }
  window.addEventListener("hashchange", followOpenSet);
  followOpenSet();

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

  // Each file goes up in parts that survive a dropped connection: the server is asked about the
  // file by its SHA-256 (it may have it already, or have some of its parts from an earlier try,
  // in this tab or another, today or yesterday), the missing parts are PUT one by one (to the
  // bucket itself on S3), each sent again after a failure with a growing pause, then the server
  // completes the file and the task worker makes the photo, whose tile shows up in the grid.
  function send(job) {
    running += 1;
    job.state = "uploading";
    job.failures = 0;
    job.waits = 0;
    (window.crypto && window.crypto.subtle ? sendInParts(job) : sendWhole(job)).catch(function (error) {
      finish(job, "failed", error.message);
    });
  }

  function sendInParts(job) {
    setStatus(job, "Checking…", "");
    return sha256(job.file).then(function (digest) {
      job.sha256 = digest;
      return ask(job, startUrl, {
        name: job.file.name, size: job.file.size, type: job.file.type, sha256: digest, set_id: job.setId || "",
      });
    }).then(function (answer) {
      if (!answer.ok) return finish(job, "failed", http.errorMessage(answer));
      if (answer.data.status === "exists") return finish(job, "skipped", "Already in this gallery: skipped");
      job.uploadId = answer.data.upload_id;
      job.partSize = answer.data.part_size;
      const missing = answer.data.parts.reduce(function (sum, part) { return sum + partLength(job, part.number); }, 0);
      job.sent = job.file.size - missing;  // sent before a reload or by another tab
      job.startedAt = performance.now();
      job.sentAtStart = job.sent;
      if (answer.data.status === "resume" && job.sent) setStatus(job, "Resuming where it stopped…", "");
      return sendParts(job, answer.data.parts);
    });
  }

  function sendParts(job, parts) {
    return parts.reduce(function (previous, part) {
      return previous.then(function () { return sendPart(job, part); });
    }, Promise.resolve()).then(function () {
      setStatus(job, "Finishing…", "");
      return ask(job, startUrl + job.uploadId + "/complete/", {});
    }).then(function (answer) {
      if (answer.status === 409 && answer.data && answer.data.parts) return sendParts(job, answer.data.parts);
      if (!answer.ok) return finish(job, "failed", http.errorMessage(answer));
      showTile(answer.data);
      if (answer.data.status === "failed") finish(job, "failed", answer.data.error);
      else finish(job, "done", answer.data.status === "done" ? "Done" : "Uploaded, processing…");
    });
  }

  function partLength(job, number) {
    return Math.min(job.partSize, job.file.size - (number - 1) * job.partSize);
  }

  // One part, PUT with nothing but its bytes (a signed URL is its permission); sent again after
  // a dropped connection or a server error, with a growing pause, for as long as it takes.
  function sendPart(job, part) {
    const start = (part.number - 1) * job.partSize;
    const blob = job.file.slice(start, start + partLength(job, part.number));
    return new Promise(function (resolve, reject) {
      function attempt() {
        const request = new XMLHttpRequest();
        request.open("PUT", part.url);
        request.upload.addEventListener("progress", function (event) {
          progress(job, job.sent + event.loaded);
        });
        request.addEventListener("load", function () {
          let serverMessage = null;
          try { serverMessage = JSON.parse(request.responseText).error; } catch (error) { /* S3's XML */ }
          // Read from the headers a cross-origin answer (S3's) lets the page see: asking for one
          // it hides logs an error.
          const exposed = /^retry-after:\s*(\d+)/im.exec(request.getAllResponseHeaders());
          const retryAfter = exposed ? parseInt(exposed[1], 10) : 0;
          if (request.status >= 200 && request.status < 300) {
            job.sent += blob.size;
            job.failures = 0;
            job.waits = 0;
            progress(job, job.sent);
            resolve();
          } else if (asksToWait(request.status, retryAfter)) {
            waitAsAsked(job, request.status, retryAfter, serverMessage).then(attempt, reject);
          } else if (request.status >= 500 || request.status === 408 || request.status === 429) {
            retry("The server could not take this part (HTTP " + request.status + ")");
          } else {
            reject(new Error(serverMessage || "Part " + part.number + " was refused (HTTP " + request.status + ")."));
          }
        });
        request.addEventListener("error", function () { retry("Connection lost"); });
        request.send(blob);
      }
      function retry(reason) {
        wait(job, reason).then(attempt);
      }
      attempt();
    });
  }

  // A JSON request about the upload, asked again after a dropped connection or while storage or
  // the server is unavailable (502, 503, 504), with a growing pause, or after the pause the
  // server asks for.
  function ask(job, url, body) {
    return http.send(url, { json: body }).then(function (answer) {
      const again = function () { return ask(job, url, body); };
      if (asksToWait(answer.status, answer.retryAfter)) {
        return waitAsAsked(job, answer.status, answer.retryAfter, answer.data && answer.data.error).then(again);
      }
      if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
        return wait(job, http.errorMessage(answer)).then(again);
      }
      job.failures = 0;
      job.waits = 0;
      return answer;
    }, function (error) {
      return wait(job, error.message).then(function () { return ask(job, url, body); });
    });
  }

  function wait(job, reason) {
    job.failures += 1;
    const seconds = Math.min(60, Math.pow(2, job.failures - 1));
    setStatus(job, reason.replace(/[.:]?\s*$/, "") + ": trying again in " + seconds + " s…", "retrying");
    return new Promise(function (resolve) { window.setTimeout(resolve, seconds * 1000); });
  }

  // A server over its rate limit (429) or busy, or whose storage is down (503), says when to come
  // back (Retry-After): the file waits that long, counting down, while the others go on. After
  // MAX_WAITS such answers in a row it fails with the server's words; its Retry button resumes it.
  function asksToWait(status, retryAfter) {
    return (status === 429 || status === 503) && retryAfter > 0;
  }

  function waitAsAsked(job, status, seconds, serverMessage) {
    const message = serverMessage || (status === 429 ? "Too many requests (HTTP 429)." : "The server is busy (HTTP 503).");
    job.waits += 1;
    if (job.waits > MAX_WAITS) return Promise.reject(new Error(message));
    const reason = message.replace(/[.:;].*$/s, "");  // its first sentence
    const until = Date.now() + seconds * 1000;
    function show() {
      const left = Math.max(1, Math.ceil((until - Date.now()) / 1000));
      setStatus(job, "Waiting " + formatDuration(left) + "… " + reason + ".", "retrying");
    }
    show();
    const ticking = window.setInterval(show, 1000);
    return new Promise(function (resolve) {
      window.setTimeout(function () {
        window.clearInterval(ticking);
        setStatus(job, "Trying again…", "retrying");
        resolve();
      }, seconds * 1000);
    });
  }

  function sha256(file) {
    return file.arrayBuffer().then(function (buffer) {
      return window.crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (byte) {
        return byte.toString(16).padStart(2, "0");
      }).join("");
    });
  }

  // Progress, speed and time left of one file.
  function progress(job, sent) {
    job.loaded = sent / job.file.size;
    job.item.querySelector("progress").value = Math.round(job.loaded * 100);
    const seconds = (performance.now() - job.startedAt) / 1000;
    const speed = seconds > 0.5 ? (sent - job.sentAtStart) / seconds : 0;
    let text = Math.floor(job.loaded * 100) + "%";
    if (speed > 0 && sent < job.file.size) {
      text += " · " + formatBytes(speed) + "/s · " + formatDuration((job.file.size - sent) / speed) + " left";
    }
    setStatus(job, text, "uploading");
    update();
  }

  function formatBytes(bytes) {
    if (bytes >= 1e9) return (bytes / 1e9).toFixed(1) + " GB";
    if (bytes >= 1e6) return (bytes / 1e6).toFixed(1) + " MB";
    return Math.max(1, Math.round(bytes / 1e3)) + " KB";
  }

  function formatDuration(seconds) {
    if (seconds < 60) return Math.max(1, Math.round(seconds)) + " s";
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }

  // A tile in the grid for the file, "processing" until the worker has made its photo (then its
  // thumbnail), or the reason it is not a photo.
  function showTile(state) {
    let tile = tiles.querySelector('[data-upload-tile="' + state.upload_id + '"]');
    if (!tile) {
      tile = document.createElement("li");
      tile.className = "photo-tile upload-tile";
      tile.dataset.uploadTile = state.upload_id;
      tile.innerHTML =
        '<div class="upload-tile__body"><span class="upload-tile__state"></span><span class="upload-tile__error"></span></div>' +
        '<div class="photo-tile__bar"><span class="photo-tile__name"></span></div>';
      tile.querySelector(".photo-tile__name").textContent = state.file_name;
      tiles.prepend(tile);
      tiles.hidden = false;
    }
    renderTile(tile, state);
    if (state.status === "processing") watchTile(tile, state, 1000);
  }

  function renderTile(tile, state) {
    tile.dataset.state = state.status;
    const label = { processing: "Processing…", failed: "Not added", done: "" }[state.status] || "";
    tile.querySelector(".upload-tile__state").textContent = label;
    tile.querySelector(".upload-tile__error").textContent = state.error || "";
    if (state.status === "failed" && !tile.querySelector("button")) {
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn btn--ghost btn--small";
      dismiss.textContent = "Dismiss";
      dismiss.addEventListener("click", function () {
        http.send(startUrl + state.upload_id + "/dismiss/", { json: {} }).then(function () { tile.remove(); });
      });
      tile.querySelector(".photo-tile__bar").appendChild(dismiss);
    }
    if (state.status === "done" && !tile.querySelector("img")) {
      const image = document.createElement("img");
      image.src = state.thumbnail_url;
      image.alt = state.file_name;
      tile.querySelector(".upload-tile__body").replaceChildren(image);
    }
    update();
  }

  tiles.addEventListener("submit", function (event) {
    const tile = event.target.closest("[data-upload-tile]");
    if (!tile) return;
    event.preventDefault();
    http.send(event.target.action, { json: {} }).then(function () { tile.remove(); });
  });

  function watchTile(tile, state, delay) {
    window.setTimeout(function () {
      http.send(startUrl + state.upload_id + "/").then(function (answer) {
        if (answer.ok) {
          renderTile(tile, answer.data);
          if (answer.data.status === "processing") watchTile(tile, state, Math.min(delay * 1.5, 5000));
        } else {
          watchTile(tile, state, 5000);
        }
      }, function () { watchTile(tile, state, 5000); });
    }, delay);
  }

  // Without WebCrypto (a page served over plain http from another host) the file goes whole.
  function sendWhole(job) {
    setStatus(job, "Uploading…", "");
    const data = new FormData();
    data.append("photos", job.file, job.file.name);
    if (job.setId) data.append("set_id", job.setId);
    return http.send(form.action, {
      form: data,
      retries: MAX_WAITS,
      onRetry: function (seconds) {
        job.loaded = 0;
        setStatus(job, "Waiting " + formatDuration(seconds) + "… (server busy)", "retrying");
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
      } else if (answer.data && answer.data.skipped && answer.data.skipped.length) {
        finish(job, "skipped", "Already in this gallery: skipped");
      } else {
        finish(job, "failed", http.errorMessage(answer, "The server could not store this file (HTTP " + answer.status + ")."));
      }
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
    const count = function (state) { return jobs.filter(function (j) { return j.state === state; }).length; };
    const done = count("done");
    const skipped = count("skipped");
    const failed = count("failed");
    const ended = done + skipped + failed;
    const progressSum = jobs.reduce(function (sum, j) {
      return sum + (j.state === "uploading" ? j.loaded : j.state === "waiting" ? 0 : 1);
    }, 0);
    overall.value = jobs.length ? Math.round((progressSum / jobs.length) * 100) : 0;
    const finished = ended === jobs.length;
    const processing = tiles.querySelectorAll('[data-state="processing"]').length;
    const parts = [done + " uploaded"];
    if (skipped) parts.push(skipped + " already in the gallery (skipped)");
    if (failed) parts.push(failed + " failed");
    summary.textContent = finished
      ? parts.join(", ") + (processing ? "; " + processing + " still processing…" : ".")
      : "Uploading " + (ended + 1 > jobs.length ? jobs.length : ended + 1) + " of " + jobs.length + "… (" + parts.join(", ") + ")";
    panel.dataset.state = finished ? (failed ? "failed" : "done") : "uploading";
    if (finished && !failed && done && !processing) {
      summary.textContent += " Refreshing…";
      window.clearTimeout(reloading);
      reloading = window.setTimeout(function () { window.location.reload(); }, 800);
    } else if (finished && done && !processing && !panel.querySelector("[data-refresh]")) {
      const link = document.createElement("a");
      link.href = window.location.pathname;
      link.className = "btn btn--small btn--ghost";
      link.dataset.refresh = "";
      link.textContent = "Show them in the gallery's order";
      summary.after(link);
    }
  }
})();
