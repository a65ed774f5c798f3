// The import page: poll status.json until the import is finished, then reload for its report.
(function () {
  var box = document.getElementById("import-status");
  if (!box || box.dataset.finished === "yes") return;
  var bar = document.getElementById("import-progress");
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.percent;
        document.getElementById("state").textContent = s.state_text;
        document.getElementById("phase").textContent = s.phase_text;
        document.getElementById("rows").textContent = s.rows;
        if (s.finished) { window.location.reload(); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
