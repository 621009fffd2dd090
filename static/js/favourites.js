// Client favourites on the public gallery: hearts on tiles and in the viewer (key F), the count
// ("12 of 40"), a comment in the viewer and the "Show only my favourites" filter, all without
// reloading the page. Without this script every heart is a form that posts and comes back
// (favourites/_heart.html), and the visitor's list has a page of its own.
(function () {
  "use strict";

  var bar = document.querySelector("[data-favourites-bar]");
  if (!bar) return;
  var counter = bar.querySelector("[data-favourites-count]");
  var startDialog = document.querySelector("[data-favourites-start]");
  var startForm = startDialog && startDialog.querySelector("[data-favourites-start-form]");
  var startError = startDialog && startDialog.querySelector("[data-favourites-error]");
  var viewer = document.querySelector("[data-viewer]");
  var viewerHeart = document.querySelector("[data-viewer-heart]");
  var viewerComment = document.querySelector("[data-viewer-comment]");
  var http = window.Viewport.http;
  var hasList = bar.hasAttribute("data-name");
  var pending = null; // the heart that waits for the visitor to give a name
  var shown = null; // the photo id in the viewer

  function heartOf(id) {
    var tile = document.getElementById("tile-" + id);
    return tile && tile.querySelector("[data-heart]");
  }

  function isChosen(form) {
    return form.querySelector("button").getAttribute("aria-pressed") === "true";
  }

  function say(message) {
    var live = document.querySelector("[data-favourites-message]");
    if (!live) {
      live = document.createElement("p");
      live.className = "favourites-bar__message";
      live.setAttribute("role", "alert");
      live.dataset.favouritesMessage = "";
      bar.appendChild(live);
    }
    live.textContent = message;
  }

  function setChosen(form, chosen) {
    form.querySelector("button").setAttribute("aria-pressed", chosen ? "true" : "false");
    form.action = chosen ? form.dataset.remove : form.dataset.add;
    if (form.closest(".tile")) form.closest(".tile").classList.toggle("is-favourite", chosen);
    if (!chosen) form.dataset.comment = "";
  }

  function toggle(form) {
    if (!hasList) {
      pending = form;
      startError.hidden = true;
      startDialog.showModal();
      return;
    }
    var chosen = isChosen(form);
    http.send(chosen ? form.dataset.remove : form.dataset.add, { method: "POST" }).then(function (answer) {
      if (answer.status === 200) {
        setChosen(form, !chosen);
        counter.textContent = answer.data.count;
        syncViewer();
      } else if (answer.status === 404 && !chosen) {
        hasList = false; // the list is gone from this browser: ask again
        toggle(form);
      } else {
        say(http.errorMessage(answer, "That did not work. Please try again."));
      }
    }, function () {
      say("No connection: your choice was not saved.");
    });
  }

  // The filter: only the visitor's favourites in the grid (CSS hides the rest). Photos of pages
  // not loaded yet may be among them, so every page is brought in first.
  var gallery = document.querySelector("[data-gallery]");
  var filterButton = bar.querySelector("[data-favourites-filter]");

  function loadEveryPage() {
    var loader = window.Viewport && window.Viewport.loadMorePhotos;
    if (!loader) return Promise.resolve();
    return loader().then(function (loaded) { return loaded ? loadEveryPage() : undefined; });
  }

  function filter(on) {
    filterButton.setAttribute("aria-pressed", on ? "true" : "false");
    gallery.classList.toggle("is-filtered", on);
    document.dispatchEvent(new CustomEvent("viewport:photos-added")); // the viewer re-reads the grid
    if (on && !gallery.querySelector('.tile [data-heart] [aria-pressed="true"]')) {
      say("You have not chosen any photos yet.");
    }
  }

  if (gallery && filterButton) {
    filterButton.hidden = false;
    filterButton.addEventListener("click", function () {
      if (filterButton.getAttribute("aria-pressed") === "true") {
        filter(false);
        return;
      }
      filterButton.setAttribute("aria-busy", "true");
      loadEveryPage().then(function () {
        filterButton.removeAttribute("aria-busy");
        filter(true);
      });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-heart]");
    if (!form) return;
    event.preventDefault();
    toggle(form);
  });

  if (startForm) {
    startForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = { name: startForm.elements.name.value, email: startForm.elements.email.value };
      http.send(startForm.action, { form: fields })
        .then(function (answer) {
          if (answer.status !== 201) {
            startError.textContent = http.errorMessage(answer, "Please try again.");
            startError.hidden = false;
            return;
          }
          hasList = true;
          bar.dataset.name = answer.data.name;
          startDialog.close();
          if (pending) toggle(pending);
          pending = null;
        });
    });
    startDialog.querySelector("[data-favourites-cancel]").addEventListener("click", function () {
      pending = null;
      startDialog.close();
    });
  }

  // The viewer: its heart follows the photo shown; F toggles it.
  function syncViewer() {
    if (!viewerHeart || !shown) return;
    var form = heartOf(shown);
    var chosen = !!form && isChosen(form);
    viewerHeart.setAttribute("aria-pressed", chosen ? "true" : "false");
    if (viewerComment) {
      // Hiding the form would drop a focus inside it to the page, where the viewer's arrow
      // keys no longer reach it: hand the focus to the viewer's heart first.
      if (!chosen && viewerComment.contains(document.activeElement)) viewerHeart.focus();
      viewerComment.hidden = !chosen;
      viewerComment.elements.comment.value = (form && form.dataset.comment) || "";
    }
  }

  document.addEventListener("viewport:viewer-show", function (event) {
    shown = event.detail.id;
    syncViewer();
  });

  if (viewerHeart) {
    viewerHeart.addEventListener("click", function () {
      var form = heartOf(shown);
      if (form) toggle(form);
    });
  }

  if (viewer) {
    // On the document: a hidden comment form may have taken the focus out of the viewer with it.
    document.addEventListener("keydown", function (event) {
      if (viewer.open && (event.key === "f" || event.key === "F") && !event.ctrlKey && !event.metaKey &&
          !event.altKey && !event.target.closest("textarea, input")) {
        event.preventDefault();
        if (viewerHeart) viewerHeart.click();
      }
    });
  }

  if (viewerComment) {
    viewerComment.addEventListener("submit", function (event) {
      event.preventDefault();
      var form = heartOf(shown);
      if (!form) return;
      var comment = viewerComment.elements.comment.value;
      http.send(form.dataset.commentUrl, { form: { comment: comment } }).then(function (answer) {
        if (answer.status === 200) {
          form.dataset.comment = comment;
          say("Comment saved.");
        } else {
          say(http.errorMessage(answer, "The comment was not saved. Please try again."));
        }
      }, function () {
        say("No connection: the comment was not saved.");
      });
    });
  }
})();
