// The photographer's gallery, in place: select photos (a click on a tile's box, shift-click for
// a range, select all) and act on the selection (move to a set, set as cover, download, delete),
// or on one photo from its menu, without leaving the page: the grid is brought up to date, the
// scroll position and the selection stay, and a short message says what was done. Without this
// script every button posts its form and the page comes back with a message.
(function () {
  "use strict";
  var http = window.Viewport.http;

  // Forms that ask first (the settings view's "Delete set").
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  var grid = document.querySelector("[data-photo-grid]");
  var selection = document.getElementById("photo-selection");
  if (!grid || !selection) return;
  var bar = document.querySelector("[data-selection-bar]");
  var count = bar.querySelector("[data-selection-count]");
  var selectAll = bar.querySelector("[data-select-all]");
  var lastClicked = null;
  bar.classList.add("is-enhanced");

  function boxes() {
    return Array.prototype.slice.call(grid.querySelectorAll("[data-select]"));
  }

  function selected() {
    return boxes().filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function update() {
    var chosen = selected();
    var all = boxes();
    bar.classList.toggle("has-selection", chosen.length > 0);
    grid.classList.toggle("is-selecting", chosen.length > 0);
    count.textContent = chosen.length
      ? plural(chosen.length, "photo") + " selected"
      : "Select photos to move, download or delete them";
    selectAll.textContent = chosen.length && chosen.length === all.length ? "Select none" : "Select all";
    bar.querySelectorAll("[data-selection-action]").forEach(function (button) {
      var action = button.dataset.selectionAction;
      button.disabled = action === "cover" ? chosen.length !== 1 : chosen.length === 0;
    });
  }

  // A short message that says what was done (or what went wrong), then goes.
  var toast = document.createElement("div");
  toast.className = "toast";
  toast.setAttribute("role", "status");
  toast.hidden = true;
  document.body.appendChild(toast);
  function say(message, isError) {
    toast.textContent = message;
    toast.classList.toggle("toast--error", Boolean(isError));
    toast.hidden = false;
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(function () { toast.hidden = true; }, isError ? 8000 : 3500);
  }

  // The pages of photos loaded now, asked for again and put in place of the grid's tiles: sets,
  // numbers and the cover all follow, and the boxes that were ticked are ticked again.
  function refreshGrid() {
    var keep = selected();
    var pages = Array.prototype.map.call(grid.querySelectorAll("[data-photo-tile]"), function (tile) {
      return parseInt(tile.dataset.page, 10) || 1;
    });
    var first = pages.length ? Math.min.apply(null, pages) : 1;
    var last = pages.length ? Math.max.apply(null, pages) : 1;
    var requests = [];
    for (var number = first; number <= last; number += 1) {
      var url = new URL(window.location.pathname, window.location.href);
      url.searchParams.set("page", number);
      url.searchParams.set("partial", "1");
      requests.push(http.send(url.href, { accept: "text/html" }));
    }
    return Promise.all(requests).then(function (answers) {
      if (answers.some(function (answer) { return !answer.ok; })) {
        window.location.reload(); // e.g. the last page emptied: start again from the page
        return;
      }
      var html = answers.map(function (answer, index) {
        // Only the last page keeps its "More photos" link.
        return index === answers.length - 1 ? answer.text : answer.text.replace(/<li class="photo-grid__more">[\s\S]*?<\/li>/, "");
      }).join("");
      var scroll = window.scrollY;
      grid.innerHTML = html;
      boxes().forEach(function (box) { box.checked = keep.indexOf(box.value) !== -1; });
      window.scrollTo(0, scroll);
      if (!grid.querySelector("[data-photo-tile]")) window.location.reload(); // the gallery is empty now
      document.dispatchEvent(new CustomEvent("viewport:grid-replaced"));
      update();
    });
  }
  window.Viewport.refreshGrid = refreshGrid;

  function post(url, data) {
    return http.send(url, { json: data }).then(function (answer) {
      if (!answer.ok) throw new Error(http.errorMessage(answer));
      return answer.data;
    });
  }

  function act(url, data, message) {
    return post(url, data)
      .then(function (result) {
        return refreshGrid().then(function () { say(typeof message === "function" ? message(result) : message); });
      })
      .catch(function (error) { say(error.message, true); });
  }

  // Ticking: a click on a box; with Shift, every box from the last one clicked takes its state.
  grid.addEventListener("click", function (event) {
    var box = event.target.closest("[data-select]");
    if (!box) {
      // A shift-click on a photo selects too (rather than opening it).
      var tile = event.shiftKey && event.target.closest("[data-photo-tile]");
      if (!tile || event.target.closest(".tile-menu")) return;
      event.preventDefault();
      box = tile.querySelector("[data-select]");
      box.checked = !box.checked;
    }
    var all = boxes();
    if (event.shiftKey && lastClicked && all.indexOf(lastClicked) !== -1) {
      var from = all.indexOf(lastClicked);
      var to = all.indexOf(box);
      all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (other) { other.checked = box.checked; });
    }
    lastClicked = box;
    update();
  });

  selectAll.addEventListener("click", function () {
    var all = boxes();
    var every = all.every(function (box) { return box.checked; });
    all.forEach(function (box) { box.checked = !every; });
    update();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && selected().length && !event.target.closest("input, select, textarea")) {
      boxes().forEach(function (box) { box.checked = false; });
      update();
    }
  });

  // The selection's actions.
  selection.addEventListener("submit", function (event) {
    var button = event.submitter;
    var action = button && button.dataset.selectionAction;
    var ids = selected();
    if (!ids.length) {
      event.preventDefault();
      say("Select photos first: click their boxes.", true);
      return;
    }
    if (action === "download") {
      if (ids.length === 1) {
        event.preventDefault();
        var tile = grid.querySelector('[data-photo-tile="' + ids[0] + '"]');
        window.location.href = tile.dataset.downloadUrl; // a download: the page stays
      }
      return; // several: the ZIP downloads, the page stays
    }
    event.preventDefault();
    if (action === "move") {
      var choice = document.getElementById("move-set");
      var name = choice.options[choice.selectedIndex].text;
      act(button.formAction, { photo_ids: ids, set_id: choice.value }, function (result) {
        return plural(result.moved, "photo") + " moved " + (choice.value ? "into “" + name + "”." : "out of their sets.");
      });
    } else if (action === "cover") {
      act(button.formAction, { photo_id: ids[0] }, "Cover photo set.");
    } else {
      if (!window.confirm("Delete " + plural(ids.length, "photo") + "? This cannot be undone.")) return;
      post(selection.dataset.deleteUrl, { photo_ids: ids })
        .then(function (result) {
          ids.forEach(function (id) {
            var tile = grid.querySelector('[data-photo-tile="' + id + '"]');
            if (tile) tile.remove();
          });
          return refreshGrid().then(function () { say(plural(result.deleted, "photo") + " deleted."); });
        })
        .catch(function (error) { say(error.message, true); });
    }
  });

  // One photo, from its menu: set or clear the cover, move it to a set.
  var coverForm = document.querySelector("[data-cover-form]");
  coverForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var id = event.submitter ? event.submitter.value : "";
    closeMenus();
    act(coverForm.action, { photo_id: id }, id ? "Cover photo set." : "Cover photo cleared.");
  });
  grid.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-tile-move]");
    if (!form) return;
    event.preventDefault();
    var choice = form.querySelector("select");
    var name = choice.options[choice.selectedIndex].text;
    closeMenus();
    act(form.action, { photo_ids: [form.querySelector("[name=photo_ids]").value], set_id: choice.value },
      choice.value ? "Photo moved into “" + name + "”." : "Photo moved out of its set.");
  });

  // One tile's menu open at a time; a click elsewhere or Escape closes it.
  function closeMenus(except) {
    grid.querySelectorAll("[data-tile-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }
  grid.addEventListener("toggle", function (event) {
    if (event.target.matches("[data-tile-menu]") && event.target.open) closeMenus(event.target);
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-tile-menu]")) closeMenus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus();
  });

  document.addEventListener("viewport:photos-added", update);
  update();
})();
