// The client's gallery: a full-screen viewer over the thumbnails, and keyboard and swipe
// navigation on the one-photo page. Without this script every thumbnail links to that page.
//
// The viewer shows the preview rendition, preloads the neighbours, and puts "#photo-<id>" in
// the address so one photo can be bookmarked or sent on; Back closes it. Its slideshow (the
// button, or Space) moves on every few seconds (the photographer's choice), each photo once its
// preview has loaded, and keeps the screen awake where the browser allows it.
(function () {
  "use strict";

  var SWIPE_DISTANCE = 50;

  function onSwipe(element, callback) {
    var startX = null;
    var startY = null;
    element.addEventListener("touchstart", function (event) {
      if (event.touches.length !== 1) {
        startX = null;
        return;
      }
      startX = event.touches[0].clientX;
      startY = event.touches[0].clientY;
    }, { passive: true });
    element.addEventListener("touchend", function (event) {
      if (startX === null) return;
      var dx = event.changedTouches[0].clientX - startX;
      var dy = event.changedTouches[0].clientY - startY;
      startX = null;
      if (Math.abs(dx) > SWIPE_DISTANCE && Math.abs(dx) > Math.abs(dy) * 1.5) callback(dx > 0 ? -1 : 1);
    }, { passive: true });
  }

  function isModified(event) {
    return event.altKey || event.ctrlKey || event.metaKey || event.shiftKey;
  }

  // The one-photo page: arrows and swipes follow its previous/next links.
  var page = document.querySelector("[data-photo-page]");
  if (page) {
    var follow = function (step) {
      var link = page.querySelector(step < 0 ? "a[rel=prev]" : "a[rel=next]");
      if (link) window.location.href = link.href;
    };
    document.addEventListener("keydown", function (event) {
      if (isModified(event)) return;
      if (event.key === "ArrowLeft") follow(-1);
      if (event.key === "ArrowRight") follow(1);
    });
    onSwipe(page, follow);
    return;
  }

  var gallery = document.querySelector("[data-gallery]");
  var dialog = document.querySelector("[data-viewer]");
  if (!gallery || !dialog || typeof dialog.showModal !== "function") return;

  // The photos loaded so far; more arrive page by page (photo-pages.js) up to `total`.
  var links = [];
  var photos = [];
  var total = parseInt(gallery.dataset.photoCount, 10) || 0;

  // With the grid filtered to the visitor's favourites (favourites.js), the viewer steps
  // through the photos shown, all of them loaded by then.
  function collect() {
    var filtered = gallery.classList.contains("is-filtered");
    links = Array.prototype.slice.call(gallery.querySelectorAll("a[data-photo]")).filter(function (link) {
      return !filtered || link.getClientRects().length > 0;
    });
    photos = links.map(function (link) {
      return {
        id: link.dataset.photo,
        preview: link.dataset.preview,
        download: link.dataset.download,
        name: link.dataset.name, // empty where the photographer hides file names
        label: link.dataset.label || link.dataset.name,
        width: link.dataset.width,
        height: link.dataset.height,
        link: link,
      };
    });
    total = filtered ? photos.length : Math.max(parseInt(gallery.dataset.photoCount, 10) || 0, photos.length);
  }
  collect();
  document.addEventListener("viewport:photos-added", collect);

  function loadMore() {
    var loader = window.Viewport && window.Viewport.loadMorePhotos;
    return loader && photos.length < total ? loader() : Promise.resolve(false);
  }
  var image = dialog.querySelector("[data-viewer-image]");
  var stage = dialog.querySelector("[data-viewer-stage]");
  var nameLabel = dialog.querySelector("[data-viewer-name]");
  var countLabel = dialog.querySelector("[data-viewer-count]");
  var downloadLink = dialog.querySelector("[data-viewer-download]");
  var closeButton = dialog.querySelector("[data-viewer-close]");
  var previousButton = dialog.querySelector("[data-viewer-prev]");
  var nextButton = dialog.querySelector("[data-viewer-next]");
  var playButton = dialog.querySelector("[data-viewer-play]");
  var slideshowSeconds = parseFloat(dialog.dataset.slideshowSeconds) || 5;
  var current = -1;
  var preloaded = {};
  var closeTimer = null;

  function idFromHash() {
    var match = /^#photo-([0-9a-f-]+)$/i.exec(window.location.hash);
    return match ? match[1] : null;
  }

  function indexOf(id) {
    for (var i = 0; i < photos.length; i++) {
      if (photos[i].id === id) return i;
    }
    return -1;
  }

  // A bookmarked photo may be on a page not loaded yet: load pages until it turns up.
  function findPhoto(id) {
    var index = indexOf(id);
    if (index >= 0 || !id) return Promise.resolve(index);
    return loadMore().then(function (loaded) {
      return loaded ? findPhoto(id) : -1;
    });
  }

  function preload(index) {
    if (index < 0 || index >= photos.length || preloaded[index]) return;
    var img = new Image();
    img.decoding = "async";
    img.src = photos[index].preview;
    preloaded[index] = img;
  }

  // Settles once the index-th photo's preview has loaded (or failed), loading its page first.
  function whenLoaded(index) {
    if (index >= photos.length) {
      return loadMore().then(function (loaded) {
        return loaded ? whenLoaded(index) : null;
      });
    }
    preload(index);
    return preloaded[index].decode().catch(function () {});
  }

  function show(index) {
    var photo = photos[index];
    current = index;
    if (image.getAttribute("src") !== photo.preview) {
      image.classList.add("is-loading");
      image.width = photo.width;
      image.height = photo.height;
      image.alt = photo.label;
      image.src = photo.preview;
    }
    nameLabel.textContent = photo.name;
    countLabel.textContent = (index + 1) + " / " + total;
    if (downloadLink) { // absent when the photographer turned single downloads off
      downloadLink.href = photo.download;
      downloadLink.title = "Download " + photo.label;
    }
    var focused = document.activeElement;
    previousButton.hidden = index === 0;
    nextButton.hidden = index === total - 1;
    if (focused && focused.hidden) {
      // The button just pressed vanished at the first or last photo: keep focus in the dialog.
      var other = focused === previousButton ? nextButton : previousButton;
      (other.hidden ? closeButton : other).focus();
    }
    playButton.hidden = total < 2;
    if (index + 1 >= photos.length) loadMore(); // the next page, before it is needed
    preload(index + 1);
    preload(index - 1);
    scheduleSlide();
    // Other scripts (favourites.js) follow the photo on show.
    document.dispatchEvent(new CustomEvent("viewport:viewer-show", { detail: { id: photo.id } }));
  }

  image.addEventListener("load", function () {
    image.classList.remove("is-loading");
  });
  image.addEventListener("error", function () {
    // An expired link answers 410: the page says so on reload.
    image.classList.remove("is-loading");
    image.alt = "This photo could not be loaded. The link may have expired.";
  });

  function open(index, push) {
    clearTimeout(closeTimer);
    var url = "#photo-" + photos[index].id;
    if (push) {
      history.pushState({ viewer: true }, "", url);
    } else if (window.location.hash !== url) {
      history.replaceState(history.state, "", url);
    }
    show(index);
    if (!dialog.open) {
      dialog.showModal();
      document.body.classList.add("has-viewer");
      closeButton.focus();
      requestAnimationFrame(function () {
        dialog.classList.add("is-visible");
      });
    }
  }

  function go(step) {
    var index = current + step;
    if (index < 0 || index >= total) return;
    if (index >= photos.length) {
      loadMore().then(function (loaded) {
        if (loaded) go(step);
      });
      return;
    }
    history.replaceState(history.state, "", "#photo-" + photos[index].id);
    show(index);
  }

  // Close from the viewer's own controls: step back over the history entry opening pushed.
  function requestClose() {
    if (history.state && history.state.viewer) {
      history.back(); // popstate closes the dialog
    } else {
      history.replaceState(null, "", window.location.pathname + window.location.search);
      fadeOut();
    }
  }

  function fadeOut() {
    if (!dialog.open) return;
    dialog.classList.remove("is-visible");
    var reduced = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    closeTimer = setTimeout(function () {
      dialog.close();
    }, reduced ? 0 : 200);
  }

  // The slideshow: after each photo is shown, the next one follows once its time is up and its
  // preview has loaded; after the last, the first.
  var playing = false;
  var slideTimer = null;
  var wakeLock = null;

  function scheduleSlide() {
    clearTimeout(slideTimer);
    if (!playing) return;
    var from = current;
    slideTimer = setTimeout(function () {
      var next = from + 1 < total ? from + 1 : 0;
      whenLoaded(next).then(function () {
        if (playing && current === from) go(next - from);
      });
    }, slideshowSeconds * 1000);
  }

  function setPlaying(on) {
    playing = on && total > 1;
    playButton.setAttribute("aria-pressed", playing ? "true" : "false");
    if (playing) {
      keepAwake();
      scheduleSlide();
    } else {
      clearTimeout(slideTimer);
      if (wakeLock) wakeLock.release();
      wakeLock = null;
    }
  }

  function keepAwake() {
    if (wakeLock || !navigator.wakeLock) return;
    navigator.wakeLock.request("screen").then(function (lock) {
      if (!playing) return lock.release();
      wakeLock = lock;
      lock.addEventListener("release", function () {
        if (wakeLock === lock) wakeLock = null;
      });
    }, function () {}); // refused (battery saver, a hidden tab): the screen may sleep as usual
  }

  // The browser lets go of the lock while the page is hidden: take it again on return.
  document.addEventListener("visibilitychange", function () {
    if (playing && document.visibilityState === "visible") keepAwake();
  });

  playButton.addEventListener("click", function () {
    setPlaying(!playing);
  });

  dialog.addEventListener("close", function () {
    setPlaying(false);
    document.body.classList.remove("has-viewer");
    dialog.classList.remove("is-visible");
    if (current >= 0) {
      var link = photos[current].link;
      link.focus({ preventScroll: true });
      link.scrollIntoView({ block: "nearest" });
    }
  });

  // Esc: fade out like the close button rather than vanish.
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    requestClose();
  });

  window.addEventListener("popstate", function () {
    findPhoto(idFromHash()).then(function (index) {
      if (index >= 0) {
        open(index, false);
      } else {
        fadeOut();
      }
    });
  });

  gallery.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-photo]");
    if (!link || event.button !== 0 || isModified(event)) return;
    event.preventDefault();
    open(links.indexOf(link), true);
  });

  previousButton.addEventListener("click", function () { go(-1); });
  nextButton.addEventListener("click", function () { go(1); });
  closeButton.addEventListener("click", requestClose);
  stage.addEventListener("click", function (event) {
    if (event.target === stage) requestClose();
  });
  onSwipe(stage, go);

  dialog.addEventListener("keydown", function (event) {
    if (isModified(event) && event.key !== "Tab") return;
    if (event.key === "ArrowLeft") {
      event.preventDefault();
      go(-1);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      go(1);
    } else if (event.key === " " && !event.target.closest("textarea, input, select")) {
      event.preventDefault(); // not a click on the focused button (at first, Close)
      setPlaying(!playing);
    } else if (event.key === "Home") {
      event.preventDefault();
      go(-current);
    } else if (event.key === "End") {
      event.preventDefault();
      go(photos.length - 1 - current); // the last photo loaded so far
    } else if (event.key === "Tab") {
      // Keep focus inside the dialog, wrapping around at either end.
      var focusable = Array.prototype.filter.call(
        dialog.querySelectorAll("a[href], button"),
        function (element) { return !element.hidden && !element.disabled; }
      );
      var first = focusable[0];
      var last = focusable[focusable.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  findPhoto(idFromHash()).then(function (index) {
    if (index >= 0) open(index, false);
  });
})();
