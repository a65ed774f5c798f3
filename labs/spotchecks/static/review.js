// The review page's chart: each reading's error and the point's rounded result against flow (load,
// speed), over the band of the maximum permissible error. Data from the canvas's data-chart.
(function () {
  "use strict";
  var canvas = document.getElementById("error-chart");
  if (!canvas || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(canvas.dataset.chart);
  var readings = [], results = [], high = [], low = [];
  data.points.forEach(function (p) {
    p.errors.forEach(function (e) { readings.push({x: p.x, y: e}); });
    if (p.rounded !== null) { results.push({x: p.x, y: p.rounded}); }
  });
  data.band.forEach(function (b) {
    high.push({x: b.x, y: b.high});
    low.push({x: b.x, y: b.low});
  });
  var chart = new window.Chart(canvas, {
    type: "scatter",
    data: {
      datasets: [
        {label: data.text.high, data: high, type: "line", stepped: "middle", borderColor: "#a61b1b",
         borderDash: [6, 4], pointRadius: 0, fill: "+1", backgroundColor: "rgba(28, 107, 53, 0.10)"},
        {label: data.text.low, data: low, type: "line", stepped: "middle", borderColor: "#a61b1b",
         borderDash: [6, 4], pointRadius: 0, fill: false},
        {label: data.text.readings, data: readings, backgroundColor: "#0b4f8a", pointRadius: 4},
        {label: data.text.results, data: results, backgroundColor: "#e08a00", pointStyle: "rectRot", pointRadius: 7}
      ]
    },
    options: {
      animation: false,
      maintainAspectRatio: false,  // the box's height rules: 2:1 would leave a phone a strip
      scales: {
        x: {type: "linear", title: {display: true, text: data.axis}},
        y: {title: {display: true, text: data.text.error}}
      },
      plugins: {legend: {position: "bottom"}}
    }
  });
  canvas.dataset.drawn = chart ? "yes" : "no";
}());
