// Follows a running import on its console page: reads the progress the
// run records in the database once a second and updates the progress bar
// and the figures; reloads the page when the run is over. Without
// JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  var box = document.getElementById("import");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var bar = document.getElementById("import-progress");
  function set(id, v) {
    var el = document.getElementById("import-" + id);
    if (el) el.textContent = String(v);
  }
  function tick() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (p) {
        bar.max = p.rows_total > 0 ? p.rows_total : 1;
        bar.value = p.rows_done;
        bar.textContent = p.percent + " %";
        set("percent", p.percent);
        set("rows_done", p.rows_done);
        set("rows_total", p.rows_total);
        set("created", p.created);
        set("unchanged", p.unchanged);
        set("rejected", p.rejected);
        set("rate", p.rate);
        if (p.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(tick, 1000);
      })
      .catch(function () {
        window.setTimeout(tick, 3000);
      });
  }
  window.setTimeout(tick, 500);
})();
