// The client's set menu: jump to a set, even one on a page of photos not loaded yet (the pages
// in between are brought in, so the gallery stays one stream the viewer can step through), and
// show which set is in view. Without JavaScript its links and its form open the set's page.
(function () {
  "use strict";

  // The band of the set menu and the favourites bar sticks at the top of the window, and a set's
  // heading or a photo jumped to stops below it (viewport.css): tell the stylesheet its height,
  // now and whenever it changes.
  var toolbar = document.querySelector("[data-gallery-toolbar]");
  var grid = document.querySelector("[data-gallery]");
  if (toolbar && grid) {
    // On the grid, not the root: a change restyles the photos and headings only.
    var measure = function () {
      var height = toolbar.offsetHeight + "px";
      if (grid.style.getPropertyValue("--toolbar-height") !== height) grid.style.setProperty("--toolbar-height", height);
    };
    // Observing reports the first size too, after the page's own layout (no forced layout here).
    if (window.ResizeObserver) {
      new ResizeObserver(measure).observe(toolbar);
    } else {
      measure();
    }
  }

  var menu = document.querySelector("[data-set-menu]");
  if (!menu) return;
  var tabs = Array.prototype.slice.call(menu.querySelectorAll("[data-set-link]"));
  var choice = menu.querySelector("[data-set-choice]");
  var go = menu.querySelector("[data-set-go]");

  function heading(id) {
    return document.getElementById("set-" + id);
  }

  // Load pages until the set's heading is in the page (or there are no more).
  function reach(id) {
    if (heading(id)) return Promise.resolve(heading(id));
    var loader = window.Viewport && window.Viewport.loadMorePhotos;
    if (!loader) return Promise.resolve(null);
    return loader().then(function (loaded) {
      return loaded ? reach(id) : null;
    });
  }

  function open(id, push) {
    return reach(id).then(function (target) {
      if (!target) return;
      var hash = "#set-" + id;
      if (push && window.location.hash !== hash) {
        history.pushState(null, "", hash);
      } else {
        history.replaceState(history.state, "", hash);
      }
      target.scrollIntoView({ block: "start" });
      mark(id);
    });
  }

  function mark(id) {
    tabs.forEach(function (tab) {
      if (tab.dataset.setLink === id) {
        tab.setAttribute("aria-current", "true");
      } else {
        tab.removeAttribute("aria-current");
      }
    });
    if (choice && id) choice.value = id;
  }

  tabs.forEach(function (tab) {
    tab.addEventListener("click", function (event) {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      open(tab.dataset.setLink, true);
    });
  });
  if (choice) {
    if (go) go.hidden = true;
    choice.addEventListener("change", function () {
      open(choice.value, true);
    });
  }

  // The set in view: the last one whose heading is above the top quarter of the window (a set
  // opened from the menu stops a little below the menu, see the headings' scroll-margin-top);
  // at the foot of the page, where a short last set can rise no higher, any heading in the window.
  var ticking = false;
  function update() {
    ticking = false;
    var scrolledToEnd = window.scrollY > 0 &&
      window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 2;
    var line = scrolledToEnd ? window.innerHeight : menu.getBoundingClientRect().bottom + window.innerHeight / 4;
    var current = "";
    tabs.forEach(function (tab) {
      var target = heading(tab.dataset.setLink);
      if (target && target.getBoundingClientRect().top <= line) current = tab.dataset.setLink;
    });
    mark(current);
  }
  window.addEventListener("scroll", function () {
    if (!ticking) {
      ticking = true;
      window.requestAnimationFrame(update);
    }
  }, { passive: true });

  // A link to a set (…/s/<id>/#set-<set id>) whose photos are on a later page.
  var match = /^#set-([0-9a-f-]+)$/i.exec(window.location.hash);
  if (match) {
    open(match[1], false);
  } else {
    window.requestAnimationFrame(update);
  }
})();
