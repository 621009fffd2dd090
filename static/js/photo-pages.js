// A gallery opens with its first page of photos; this brings in the next pages (just their
// tiles, `?page=N&partial=1`) as the visitor nears the end of the grid. Without JavaScript the
// "More photos" link opens the next page instead. The viewer calls Viewport.loadMorePhotos()
// to step past the last photo loaded so far.
(function () {
  "use strict";
  var loading = null;

  function moreLink() {
    return document.querySelector("[data-more-photos]");
  }

  function loadMore() {
    var link = moreLink();
    if (!link) return Promise.resolve(false);
    if (loading) return loading;
    var url = new URL(link.href, window.location.href);
    url.searchParams.set("partial", "1");
    link.setAttribute("aria-busy", "true");
    link.textContent = "Loading more photos…";
    loading = window.Viewport.http.send(url.href, { accept: "text/html" })
      .then(function (answer) {
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        return answer.text;
      })
      .then(function (html) {
        var template = document.createElement("template");
        template.innerHTML = html;
        (link.closest("li") || link).replaceWith(template.content);
        loading = null;
        watch();
        document.dispatchEvent(new CustomEvent("viewport:photos-added"));
        return true;
      })
      .catch(function () {
        loading = null;
        link.removeAttribute("aria-busy");
        link.textContent = "More photos";
        return false;
      });
    return loading;
  }

  var observer = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries) {
        if (entries.some(function (entry) { return entry.isIntersecting; })) loadMore();
      }, { rootMargin: "1200px 0px" })
    : null;

  function watch() {
    var link = moreLink();
    if (!link) return;
    if (observer) observer.observe(link);
    link.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      var tile = link.closest("li");
      var previous = tile && tile.previousElementSibling;
      loadMore().then(function () {
        // Keyboard users carry on from the first new photo.
        var next = previous && previous.nextElementSibling;
        var focusable = next && next.querySelector("a");
        if (focusable) focusable.focus();
      });
    });
  }

  // The first screen's tiles load before layout, their `sizes` guessed from each photo's shape
  // (Photo.tile_sizes). Laid out, each says its real width: a tile its row stretched (a landscape
  // beside a panorama) gets a sharper file; the others keep the one they have.
  document.querySelectorAll(".tile picture img:not([loading])").forEach(function (img) {
    var width = Math.ceil(img.getBoundingClientRect().width) + "px";
    img.parentNode.querySelectorAll("source").forEach(function (source) { source.sizes = width; });
    img.sizes = width;
  });

  watch();
  // The photographer's grid, brought up to date in place (workspace.js), has a new link.
  document.addEventListener("viewport:grid-replaced", watch);
  window.Viewport = window.Viewport || {};
  window.Viewport.loadMorePhotos = loadMore;
})();
