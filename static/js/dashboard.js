// The executive dashboard's charts: drawn from the page's #dashboard-data (json_script),
// redrawn after every htmx refresh of the panel. Each chart carries an ECharts aria
// description written from the same numbers, for screen readers.
(function () {
  "use strict";
  let charts = [];
  let pacingIndex = 0; // the agreement chosen for the pacing chart, kept across refreshes

  function data() {
    const node = document.getElementById("dashboard-data");
    return node ? JSON.parse(node.textContent) : null;
  }

  function aria(description) {
    return { enabled: true, label: { enabled: true, description: description } };
  }

  function pct(value) {
    return value === null || value === undefined ? "no figure" : value + " %";
  }

  function pacingOption(item) {
    const last = item.qualified.reduce(function (at, v, i) { return v === null ? at : i; }, -1);
    const projection = item.days.map(function () { return null; });
    if (item.projection !== null && last >= 0) {
      const steps = item.days.length - 1 - last;
      const from = item.qualified[last];
      for (let i = last; i < item.days.length; i++) {
        projection[i] = steps ? Math.round(from + (item.projection - from) * (i - last) / steps) : from;
      }
    }
    const sofar = last >= 0 ? item.qualified[last] : 0;
    let text = "Quota pacing for " + item.agreement + ": " + sofar + " qualified leads of " +
      item.committed + " committed";
    if (last >= 0) { text += " by business day " + (last + 1) + " of " + item.days.length; }
    text += "; the expected pace by then is " + (last >= 0 ? item.expected[last] : 0) + ".";
    if (item.projection !== null) { text += " At this pace the month ends at " + item.projection + "."; }
    return {
      aria: aria(text),
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: item.days.map(function (d) { return d.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "Qualified to date", type: "line", data: item.qualified, symbolSize: 4 },
        { name: "Expected pace", type: "line", data: item.expected, symbol: "none", lineStyle: { type: "dashed" } },
        { name: "Commitment", type: "line", data: item.days.map(function () { return item.committed; }), symbol: "none", lineStyle: { type: "dotted" } },
        { name: "Projection", type: "line", data: projection, symbol: "none", lineStyle: { type: "dashed", width: 1 } },
      ],
    };
  }

  function barOption(labels, values, name, text) {
    return {
      aria: aria(text),
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 40 },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 5 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: name, type: "bar", data: values }],
    };
  }

  function stackOption(stacks, what) {
    const parts = stacks.labels.map(function (label, i) {
      return label + ": " + stacks.kinds.map(function (kind, k) {
        return stacks.counts[k][i] + " " + kind.toLowerCase();
      }).join(", ");
    });
    const text = parts.length ? "Breaches by " + what + ". " + parts.join("; ") + "." : "No breach by " + what + " this month.";
    return {
      aria: aria(text),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 8, bottom: 48, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: stacks.labels, inverse: true },
      series: stacks.kinds.map(function (kind, k) {
        return { name: kind, type: "bar", stack: "breaches", data: stacks.counts[k] };
      }),
    };
  }

  function funnelOption(rows) {
    const text = "Funnel. " + rows.map(function (row) {
      return row.stage + ": " + row.reached + " reached" +
        (row.conversion !== null ? ", " + pct(row.conversion) + " went on" : "") +
        (row.median_minutes !== null ? ", median " + row.median_minutes + " business minutes in it" : "");
    }).join("; ") + ".";
    return {
      aria: aria(text),
      tooltip: { trigger: "item" },
      series: [{
        type: "funnel", sort: "none", left: "5%", width: "90%", top: 8, bottom: 8, minSize: "30%",
        label: {
          position: "inside",
          formatter: function (p) {
            const row = rows[p.dataIndex];
            return row.stage + " " + row.reached + (row.conversion !== null ? " → " + row.conversion + " %" : "");
          },
        },
        data: rows.map(function (row) { return { name: row.stage, value: row.reached }; }),
      }],
    };
  }

  function trendOption(trend) {
    const n = trend.months.length - 1;
    const text = "Twelve months to " + trend.months[n] + ". Attainment " + pct(trend.attainment[n]) +
      ", acceptance " + pct(trend.acceptance[n]) + ", first-touch compliance " + pct(trend.compliance[n]) +
      " in the last month; attainment went from " + pct(trend.attainment[0]) + " in " + trend.months[0] + ".";
    return {
      aria: aria(text),
      tooltip: { trigger: "axis", valueFormatter: function (v) { return pct(v); } },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 16, bottom: 56 },
      xAxis: { type: "category", data: trend.months },
      yAxis: { type: "value", axisLabel: { formatter: "{value} %" } },
      series: [
        { name: "Attainment (marketing)", type: "line", data: trend.attainment, connectNulls: false },
        { name: "Acceptance (marketing)", type: "line", data: trend.acceptance },
        { name: "First-touch compliance (sales)", type: "line", data: trend.compliance },
      ],
    };
  }

  function draw() {
    charts.forEach(function (chart) { chart.dispose(); });
    charts = [];
    const figures = data();
    if (!figures || typeof echarts === "undefined") { return; }
    const select = document.querySelector("[data-pacing-select]");
    const options = {
      pacing: function () {
        const item = figures.pacing[pacingIndex] || figures.pacing[0];
        return item ? pacingOption(item) : null;
      },
      first_touch: function () {
        const ft = figures.first_touch;
        const total = ft.leads.reduce(function (a, b) { return a + b; }, 0);
        const text = "Time to first touch of " + total + " leads, in business minutes: " +
          ft.bands.map(function (b, i) { return b + ": " + ft.leads[i]; }).join(", ") + ".";
        return barOption(ft.bands, ft.leads, "Leads", text);
      },
      breaches_by_rep: function () { return stackOption(figures.breaches_by_rep, "rep"); },
      breaches_by_team: function () { return stackOption(figures.breaches_by_team, "team"); },
      funnel: function () { return funnelOption(figures.funnel); },
      trend: function () { return trendOption(figures.trend); },
    };
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      const option = options[el.dataset.chart] && options[el.dataset.chart]();
      if (!option) { return; }
      // Tooltips drawn inside the chart: the Content-Security-Policy refuses the style
      // attributes of echarts' HTML tooltips.
      if (option.tooltip) { option.tooltip.renderMode = "richText"; }
      const chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option);
      charts.push(chart);
    });
    if (select) {
      select.value = String(pacingIndex);
      select.onchange = function () { pacingIndex = Number(select.value); draw(); };
    }
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "dashboard-panel") { draw(); }
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  // Back on a hidden tab: refresh at once instead of waiting for the next minute.
  document.addEventListener("visibilitychange", function () {
    const panel = document.getElementById("dashboard-panel");
    if (document.visibilityState === "visible" && panel && window.htmx) {
      window.htmx.trigger(panel, "dashboard:refresh");
    }
  });
})();
