// The photographer's own order of photos: drag a tile to its new place, or use its arrows or
// position field (the keyboard's way, and the page's without JavaScript: each tile's small form
// posts its new position). Either switches the gallery to manual order. Positions count within
// a set; dragging a photo next to one of another set moves it into that set. A message in the
// page's live region says where each photo went.
(function () {
  "use strict";
  var grid = document.querySelector("[data-photo-grid]");
  if (!grid) return;
  var status = document.querySelector("[data-order-status]");
  var http = window.Viewport.http;
  var dragged = null;
  var byHandle = false; // the drag is a finger's on a tile's handle, not the browser's own

  function tiles() {
    return Array.prototype.slice.call(grid.querySelectorAll("[data-photo-tile]"));
  }

  // The tiles of the tile's section (its set), in order: a run of tiles between headings.
  function sectionOf(tile) {
    var all = tiles();
    var section = [];
    all.forEach(function (other) {
      if (other.dataset.setId === tile.dataset.setId) section.push(other);
    });
    return section;
  }

  function post(data) {
    return http.send(grid.dataset.orderUrl, { json: data }).then(function (answer) {
      if (!answer.ok) throw new Error(http.errorMessage(answer, "The new order could not be saved."));
      return answer.data;
    });
  }

  function announce(message) {
    if (!status) return;
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50); // read out even when repeated
  }

  // After tiles moved in the page: each one's number in its set, and its form's values.
  function renumber() {
    var counts = {}; // per set: the number of the tile before (a set may start on a page not loaded)
    tiles().forEach(function (tile) {
      var number = parseInt(tile.dataset.number, 10) - 1;
      var set = tile.dataset.setId;
      counts[set] = set in counts ? Math.min(counts[set], number) : number;
    });
    tiles().forEach(function (tile) {
      var set = tile.dataset.setId;
      counts[set] += 1;
      var number = counts[set];
      var size = parseInt(tile.dataset.sectionSize, 10);
      tile.dataset.number = number;
      var form = tile.querySelector("[data-photo-order]");
      if (!form) return;
      form.querySelector("[data-order-position]").value = number;
      form.querySelectorAll("[data-order-step]").forEach(function (button) {
        var target = number + parseInt(button.dataset.orderStep, 10);
        button.value = target;
        button.disabled = target < 1 || target > size;
      });
    });
  }

  function failed(error) {
    announce(error.message + " Reloading the page…");
    window.setTimeout(function () { window.location.reload(); }, 1500);
  }

  // Keyboard and buttons: a tile's form, sent as JSON; the tile moves in the page.
  grid.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-photo-order]");
    if (!form) return;
    event.preventDefault();
    var tile = form.closest("[data-photo-tile]");
    var submitter = event.submitter;
    var step = submitter && submitter.dataset.orderStep;
    var position = step
      ? parseInt(tile.dataset.number, 10) + parseInt(step, 10)
      : parseInt(form.querySelector("[data-order-position]").value, 10);
    var size = parseInt(tile.dataset.sectionSize, 10);
    if (!(position >= 1)) return;
    position = Math.min(position, size);
    post({ photo_id: tile.dataset.photoTile, position: position }).then(function () {
      var section = sectionOf(tile);
      var first = parseInt(section[0].dataset.number, 10);
      var others = section.filter(function (other) { return other !== tile; });
      var index = position - first; // where the tile goes among the loaded tiles of its set
      var loadedToEnd = first + section.length - 1 >= size;
      if (index < 0 || index > others.length || (index === others.length && !loadedToEnd)) {
        window.location.reload(); // its new place is on a page not loaded here
        return;
      }
      if (index < others.length) {
        others[index].before(tile);
      } else if (others.length) {
        others[others.length - 1].after(tile);
      }
      renumber();
      var again = step ? form.querySelector('[data-order-step="' + step + '"]') : submitter;
      if (!again || again.disabled) again = form.querySelector("[data-order-position]");
      again.focus();
      tile.scrollIntoView({ block: "nearest" });
      announce(tile.dataset.name + " moved to position " + position + " of " + size + ".");
    }).catch(failed);
  });

  // Drag and drop: the HTML drag API for mice, and a handle on each tile for fingers (pointer
  // events; the handle takes no scrolling). Dragging files over the page is for uploads: not here.
  function isPhotoDrag(event) {
    return dragged && !Array.prototype.includes.call(event.dataTransfer.types, "Files");
  }

  function clearMarks() {
    grid.querySelectorAll(".is-drop-before, .is-drop-after").forEach(function (tile) {
      tile.classList.remove("is-drop-before", "is-drop-after");
    });
  }

  // Where a photo dropped on `element` at `x` goes: before or after a tile, or first under a heading.
  function dropPlace(element, x) {
    var target = element && element.closest("[data-photo-tile], [data-set-heading]");
    if (!target || target === dragged || !grid.contains(target)) return null;
    if (target.matches("[data-set-heading]")) return { target: target, after: true };
    var box = target.getBoundingClientRect();
    return { target: target, after: x > box.left + box.width / 2 };
  }

  function showPlace(place) {
    clearMarks();
    if (place && place.target.matches("[data-photo-tile]")) {
      place.target.classList.add(place.after ? "is-drop-after" : "is-drop-before");
    }
  }

  function endDrag() {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    byHandle = false;
    clearMarks();
  }

  function drop(place) {
    var tile = dragged;
    endDrag();
    var fromSet = tile.dataset.setId;
    if (place.after) {
      place.target.after(tile);
    } else {
      place.target.before(tile);
    }
    // Where it landed: right after a photo, or first under a set's heading, or first of all.
    var previous = tile.previousElementSibling;
    while (previous && !previous.matches("[data-photo-tile], [data-set-heading]")) previous = previous.previousElementSibling;
    var data = { photo_id: tile.dataset.photoTile };
    var toSet = fromSet;
    if (previous && previous.matches("[data-photo-tile]")) {
      data.after_id = previous.dataset.photoTile;
      toSet = previous.dataset.setId;
    } else {
      data.after_id = "";
      if (previous) {
        data.set_id = previous.dataset.setId;
        toSet = previous.dataset.setId;
      }
    }
    post(data).then(function () {
      if (toSet !== fromSet) {
        // The sets' counts and positions all change: the grid is brought up to date in place.
        if (window.Viewport.refreshGrid) {
          window.Viewport.refreshGrid();
        } else {
          window.location.reload();
        }
        return;
      }
      renumber();
      announce(tile.dataset.name + " moved to position " + tile.dataset.number + " of " + tile.dataset.sectionSize + ".");
    }).catch(failed);
  }

  grid.addEventListener("dragstart", function (event) {
    var tile = event.target.closest && event.target.closest("[data-photo-tile]");
    if (!tile) return;
    dragged = tile;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", tile.dataset.name);
    tile.classList.add("is-dragging");
  });
  grid.addEventListener("dragend", endDrag);
  grid.addEventListener("dragover", function (event) {
    if (!isPhotoDrag(event)) return;
    var place = dropPlace(event.target, event.clientX);
    if (!place) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    showPlace(place);
  });
  grid.addEventListener("drop", function (event) {
    if (!isPhotoDrag(event)) return;
    var place = dropPlace(event.target, event.clientX);
    if (!place) return;
    event.preventDefault();
    drop(place);
  });

  if (window.matchMedia("(any-pointer: coarse)").matches) grid.classList.add("has-drag-handles");
  function placeUnder(event) {
    return dropPlace(document.elementFromPoint(event.clientX, event.clientY), event.clientX);
  }
  grid.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest("[data-drag-handle]");
    if (!handle || !event.isPrimary) return;
    event.preventDefault();
    dragged = handle.closest("[data-photo-tile]");
    byHandle = true;
    dragged.classList.add("is-dragging");
    handle.setPointerCapture(event.pointerId); // its moves come here, wherever the finger goes
  });
  grid.addEventListener("pointermove", function (event) {
    if (byHandle) showPlace(placeUnder(event));
  });
  grid.addEventListener("pointerup", function (event) {
    if (!byHandle) return;
    var place = placeUnder(event);
    if (place) {
      drop(place);
    } else {
      endDrag();
    }
  });
  grid.addEventListener("pointercancel", function () {
    if (byHandle) endDrag(); // (the browser's own drag cancels the mouse's pointer: that one goes on)
  });
})();
