// Draws the page's one bar chart from the JSON the server embedded beside its table.
(function () {
  "use strict";
  const source = document.getElementById("chart-data");
  const canvas = document.querySelector("canvas");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const spec = JSON.parse(source.textContent);
  const palette = ["#3366aa", "#2ca02c", "#d62728", "#ff7f0e"];
  const scale = (v) => (v == null ? null : spec.percent ? Math.round(v * 1000) / 10 : v);
  new Chart(canvas, {
    type: spec.type,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((s, i) => ({ label: s.label, data: s.data.map(scale), backgroundColor: palette[i % palette.length] })),
    },
    options: {
      animation: false,
      responsive: true,
      scales: { y: { beginAtZero: true, ...(spec.percent ? { max: 100, ticks: { callback: (v) => `${v}%` } } : {}) } },
    },
  });
  document.body.dataset.chartReady = "1";
})();
