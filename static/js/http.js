// How the page's scripts talk to the server, in one place: the CSRF token, requests with a JSON
// or form body (and upload progress), the server's error message, and sending again when the
// server says it is busy (a 503 or 429 with Retry-After). Loaded on every page before the other scripts:
// Viewport.http.send(), .errorMessage(), .csrfToken().
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function formData(fields) {
    if (fields instanceof FormData) return fields;
    var data = new FormData();
    Object.keys(fields).forEach(function (name) { data.append(name, fields[name]); });
    return data;
  }

  function once(url, options) {
    return new Promise(function (resolve, reject) {
      var request = new XMLHttpRequest();
      var body = null;
      var method = options.method || (options.json || options.form ? "POST" : "GET");
      request.open(method, url);
      if (options.blob) request.responseType = "blob";
      request.setRequestHeader("Accept", options.accept || "application/json");
      if (method !== "GET") request.setRequestHeader("X-CSRFToken", csrfToken());
      if (options.json) {
        request.setRequestHeader("Content-Type", "application/json");
        body = JSON.stringify(options.json);
      } else if (options.form) {
        body = formData(options.form);
      }
      if (options.onProgress) {
        request.upload.addEventListener("progress", function (event) {
          if (event.lengthComputable) options.onProgress(event.loaded / event.total);
        });
      }
      request.addEventListener("load", function () {
        var answer = {
          status: request.status,
          ok: request.status >= 200 && request.status < 300,
          data: null,
          text: "",
          blob: options.blob ? request.response : null,
          retryAfter: parseInt(request.getResponseHeader("Retry-After"), 10) || 0,
        };
        // A blob's text is read only when it is an error, which says why in JSON.
        var text = !options.blob ? Promise.resolve(request.responseText) :
          answer.ok ? Promise.resolve("") : answer.blob.text();
        text.then(function (body) {
          answer.text = body;
          try { answer.data = JSON.parse(body); } catch (error) { answer.data = null; }
          resolve(answer);
        });
      });
      request.addEventListener("error", function () {
        reject(new Error("No connection to the server: check your connection and try again."));
      });
      request.send(body);
    });
  }

  // Send a request and resolve with the answer, whatever its status: {status, ok, data (the
  // JSON body, or null), text, retryAfter (seconds)}; no connection at all rejects. Options:
  // json (an object sent as JSON) or form (an object or FormData sent as a form), which make it
  // a POST unless `method` says otherwise; accept (default "application/json"); blob: the body
  // comes as a Blob in `blob` (an image; an error's text and data are read); onProgress(0..1)
  // while the body goes up; retries: how many times a busy server (503 or 429 with Retry-After)
  // is waited out and the request sent again (default none), after onRetry(seconds) is called.
  function send(url, options) {
    options = options || {};
    var left = options.retries || 0;
    function attempt() {
      return once(url, options).then(function (answer) {
        var busy = answer.status === 503 || answer.status === 429;
        if (!busy || !answer.retryAfter || left <= 0) return answer;
        left -= 1;
        if (options.onRetry) options.onRetry(answer.retryAfter);
        return new Promise(function (resolve) {
          window.setTimeout(function () { resolve(attempt()); }, answer.retryAfter * 1000);
        });
      });
    }
    return attempt();
  }

  // What to tell the person about an answer that is no success: the server's own words (every
  // JSON error is {"error": "…"}, with "fields" for a form's), else `fallback`.
  function errorMessage(answer, fallback) {
    return (answer.data && answer.data.error) || fallback ||
      "Something went wrong (HTTP " + answer.status + "). Please try again.";
  }

  window.Viewport = window.Viewport || {};
  window.Viewport.http = { send: send, errorMessage: errorMessage, csrfToken: csrfToken };
})();
