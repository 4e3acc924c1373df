// slaops marketing pages: the pacing chart of each agreement on /commitments/.
// The server computes every number (json_script); this file only draws them.
(function () {
  "use strict";

  function option(data) {
    return {
      aria: { enabled: true, label: { description: data.description } },
      animation: false,
      // Drawn inside the chart: the policy refuses the style attributes of HTML tooltips.
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { bottom: 0 },
      // Room below the axis for the legend, which wraps onto two lines on a phone.
      grid: { left: 8, right: 16, top: 32, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: data.days, axisLabel: { hideOverlap: true } },
      yAxis: {
        type: "value",
        name: "qualified leads",
        nameTextStyle: { align: "left" },
        minInterval: 1,
      },
      series: [
        {
          name: "Qualified so far",
          type: "line",
          data: data.actual,
          symbolSize: 5,
          lineStyle: { width: 3 },
          color: "#0d6efd",
        },
        {
          name: "Expected pace",
          type: "line",
          data: data.expected,
          showSymbol: false,
          lineStyle: { type: "dashed" },
          color: "#6c757d",
        },
        {
          name: "Projection",
          type: "line",
          data: data.projection,
          connectNulls: true,
          showSymbol: false,
          lineStyle: { type: "dotted", width: 2 },
          color: "#fd7e14",
        },
        {
          name: "Commitment",
          type: "line",
          data: data.days.map(function () { return data.commitment; }),
          showSymbol: false,
          lineStyle: { width: 1 },
          color: "#198754",
        },
      ],
    };
  }

  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-pacing-chart]").forEach(function (el) {
      const source = document.getElementById(el.dataset.pacingChart);
      if (!source || el.dataset.drawn) { return; }
      const chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(JSON.parse(source.textContent)));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
