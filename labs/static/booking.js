// The booking pages' behaviour (served from /static: the Content-Security-Policy allows no inline
// handlers). Every page works without it; with it, forms send once, the request form shows the
// chosen day's free time and the fee as you type, and a weekly series opens into its weeks.
(function () {
  "use strict";

  // A form sends once: a second click (or Enter) while the first request is on its way does nothing.
  // The buttons are not disabled, so the one clicked still sends its name (the waitlist button).
  document.querySelectorAll("form.once").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      form.setAttribute("aria-busy", "true");
    });
  });

  // A weekly series is one row; its weeks open beneath it.
  document.querySelectorAll(".series").forEach(function (series) {
    var toggle = series.querySelector(".series-toggle");
    var weeks = series.querySelectorAll("tr.week");
    function show(open) {
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      // Set on the element: a phone's stacked rows are display: block, which would show hidden ones.
      weeks.forEach(function (row) { row.hidden = !open; row.style.display = open ? "" : "none"; });
    }
    toggle.addEventListener("click", function () { show(toggle.getAttribute("aria-expanded") !== "true"); });
    show(false);
  });

  var form = document.getElementById("booking-form");
  if (!form) return;
  var lab = document.getElementById("lab_id");
  var date = document.getElementById("date");
  var start = document.getElementById("start");
  var end = document.getElementById("end");
  var batches = document.getElementById("batches");
  var panel = document.getElementById("day-availability");
  var fee = document.getElementById("fee-quote");

  function chosen() { return lab.options[lab.selectedIndex]; }

  function api(template, labId, query) {
    return template.replace(/\/0\//, "/" + encodeURIComponent(labId) + "/") + "?" + new URLSearchParams(query);
  }

  // Only the chosen lab's instruments (without script, every lab's are listed under its code).
  function showInstruments() {
    document.querySelectorAll(".instruments").forEach(function (group) {
      group.hidden = lab.value !== "" && group.dataset.lab !== lab.value;
    });
  }

  // The time fields follow the lab's step.
  function followStep() {
    var step = chosen() && chosen().dataset.step;
    if (step) { start.step = step; end.step = step; }
  }

  function clock(iso, tz) {
    return new Intl.DateTimeFormat("en-GB", {timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23"})
      .format(new Date(iso));
  }

  function slot(text, kind, span, tz) {
    var item = document.createElement(kind === "free" ? "button" : "span");
    item.className = "slot " + kind;
    item.textContent = clock(span.starts_at, tz) + "–" + clock(span.ends_at, tz);
    if (kind === "free") {
      item.type = "button";
      item.title = text;
      item.addEventListener("click", function () {
        start.value = clock(span.starts_at, tz);
        end.value = clock(span.ends_at, tz);
        quote();
      });
    }
    return item;
  }

  var asked = 0;
  function showDay() {
    if (!lab.value || !date.value) { panel.hidden = true; return; }
    var tz = chosen().dataset.tz;
    var mine = ++asked;  // an answer to an older question is dropped
    fetch(api(form.dataset.availability, lab.value, {from: date.value, to: date.value}))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (mine !== asked) return;
        panel.textContent = "";
        panel.hidden = !data;
        if (!data) return;
        var day = data.days[0];
        if (!day.open.length) {
          panel.textContent = panel.dataset.closed;
          return;
        }
        day.bays.forEach(function (bay) {
          var line = document.createElement("p");
          line.textContent = panel.dataset.bay + " " + bay.bay + ": ";
          bay.free.forEach(function (span) { line.appendChild(slot(panel.dataset.free, "free", span, tz)); });
          bay.busy.forEach(function (span) { line.appendChild(slot(panel.dataset.taken, "busy", span, tz)); });
          panel.appendChild(line);
        });
      })
      .catch(function () { panel.hidden = true; });
  }

  // The fee depends on the length of the slot and the batches only.
  var quoted = 0;
  function quote() {
    if (!lab.value || !start.value || !end.value || start.value >= end.value) { fee.textContent = ""; return; }
    var day = date.value || new Date().toISOString().slice(0, 10);
    var mine = ++quoted;
    fetch(api(form.dataset.fee, lab.value, {
      starts_at: day + "T" + start.value + ":00+00:00", ends_at: day + "T" + end.value + ":00+00:00",
      batches: batches.value || "1"}))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (mine !== quoted) return;
        fee.textContent = !data ? "" : fee.dataset.label + ": ¥" + data.fee +
          (data.public_benefit ? " (" + fee.dataset.free + ")" : "");
      })
      .catch(function () { fee.textContent = ""; });
  }

  lab.addEventListener("change", function () { showInstruments(); followStep(); showDay(); quote(); });
  date.addEventListener("change", showDay);
  [start, end, batches].forEach(function (input) { input.addEventListener("input", quote); });
  showInstruments();
  followStep();
  showDay();
  quote();
})();
