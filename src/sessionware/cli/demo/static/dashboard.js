// The admin dashboard's live part: poll /admin/metrics.json every second, turn
// consecutive cumulative snapshots into per-second rates, and draw them as SVG.
(function () {
  "use strict";

  var WINDOW = 60; // seconds of history kept and drawn
  var SVG = "http://www.w3.org/2000/svg";
  var history = [];
  var previous = null;
  var operationSelect = document.getElementById("latency-operation");

  function text(id, value) {
    var node = document.getElementById(id);
    if (node) { node.textContent = value; }
  }

  function totalCalls(snapshot) {
    var total = 0;
    Object.keys(snapshot.operations).forEach(function (name) {
      total += snapshot.operations[name].count;
    });
    return total;
  }

  function rate(now, before, seconds) {
    return seconds > 0 ? Math.max(0, now - before) / seconds : 0;
  }

  function record(feed) {
    var snapshot = feed.snapshot;
    var sample = { time: feed.time, requests: 0, operations: 0, perOperation: {}, latency: {} };
    Object.keys(snapshot.operations).forEach(function (name) {
      var op = snapshot.operations[name];
      sample.latency[name] = [op.p50_ms, op.p95_ms, op.p99_ms];
    });
    if (previous) {
      var seconds = feed.time - previous.time;
      var before = previous.snapshot;
      sample.requests = rate(snapshot.events.on_visit, before.events.on_visit, seconds);
      sample.operations = rate(totalCalls(snapshot), totalCalls(before), seconds);
      Object.keys(snapshot.operations).forEach(function (name) {
        sample.perOperation[name] = rate(
          snapshot.operations[name].count, before.operations[name].count, seconds);
      });
      history.push(sample);
      while (history.length > WINDOW) { history.shift(); }
    }
    previous = feed;
    return sample;
  }

  function niceCeiling(value) {
    if (value <= 0) { return 1; }
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * magnitude >= value) { return steps[i] * magnitude; }
    }
    return 10 * magnitude;
  }

  function element(name, attributes, content) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (content !== undefined) { node.textContent = content; }
    return node;
  }

  function format(value) {
    if (value === 0) { return "0"; }
    if (value >= 100) { return value.toFixed(0); }
    if (value >= 10) { return value.toFixed(1); }
    if (value >= 0.1) { return value.toFixed(2); }
    return value.toPrecision(2); // microsecond latencies of in-process stores
  }

  // series: list of arrays of numbers, one per line, aligned with history.
  function drawChart(svg, series) {
    var width = 600, height = 200, left = 44, right = 8, top = 10, bottom = 22;
    var plotWidth = width - left - right, plotHeight = height - top - bottom;
    var peak = 0;
    series.forEach(function (values) {
      values.forEach(function (v) { peak = Math.max(peak, v); });
    });
    var ceiling = niceCeiling(peak);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    [0, 0.5, 1].forEach(function (fraction) {
      var y = top + plotHeight * (1 - fraction);
      svg.appendChild(element("line", { x1: left, x2: width - right, y1: y, y2: y, "class": "grid" }));
      svg.appendChild(element("text", { x: left - 6, y: y + 4, "text-anchor": "end", "class": "axis-label" },
        format(ceiling * fraction)));
    });
    svg.appendChild(element("text", { x: left, y: height - 4, "class": "axis-label" }, "-" + WINDOW + " s"));
    svg.appendChild(element("text", { x: width - right, y: height - 4, "text-anchor": "end", "class": "axis-label" }, "now"));
    series.forEach(function (values, index) {
      if (values.length < 2) { return; }
      var offset = WINDOW - values.length;
      var points = values.map(function (v, i) {
        var x = left + plotWidth * (offset + i) / (WINDOW - 1);
        var y = top + plotHeight * (1 - v / ceiling);
        return x.toFixed(1) + "," + y.toFixed(1);
      });
      svg.appendChild(element("polyline", { points: points.join(" "), "class": "series s" + index }));
    });
  }

  function drawOperationsTable(feed, sample) {
    var body = document.querySelector("#operations tbody");
    var rows = [];
    var operations = feed.snapshot.operations;
    Object.keys(operations).forEach(function (name) {
      var op = operations[name];
      if (op.count === 0) { return; }
      rows.push([name, op.count, format(sample.perOperation[name] || 0), op.errors,
        format(op.p50_ms), format(op.p95_ms), format(op.p99_ms)]);
    });
    if (rows.length === 0) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (cells) {
      var row = document.createElement("tr");
      cells.forEach(function (cell, index) {
        var td = document.createElement("td");
        td.textContent = String(cell);
        if (index > 0) { td.className = "num"; }
        row.appendChild(td);
      });
      body.appendChild(row);
    });
  }

  function draw(feed, sample) {
    text("live-sessions", String(feed.live_sessions));
    text("rate-requests", format(sample.requests));
    text("rate-operations", format(sample.operations));
    var errors = feed.snapshot.events.on_error;
    Object.keys(feed.snapshot.operations).forEach(function (name) {
      errors += feed.snapshot.operations[name].errors;
    });
    text("error-count", String(errors));
    drawChart(document.getElementById("chart-throughput"), [
      history.map(function (s) { return s.requests; }),
      history.map(function (s) { return s.operations; })
    ]);
    var operation = operationSelect.value;
    drawChart(document.getElementById("chart-latency"), [0, 1, 2].map(function (which) {
      return history.map(function (s) { return (s.latency[operation] || [0, 0, 0])[which]; });
    }));
    drawOperationsTable(feed, sample);
  }

  var polling = false;
  function poll() {
    if (polling) { return; }
    polling = true;
    fetch("/admin/metrics.json", { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (feed) {
        draw(feed, record(feed));
        text("feed-status", "");
        document.body.setAttribute("data-feed", "live");
      })
      .catch(function (error) {
        text("feed-status", "Metrics feed unavailable: " + error.message);
      })
      .then(function () { polling = false; });
  }

  operationSelect.addEventListener("change", function () {
    if (previous && history.length > 0) { draw(previous, history[history.length - 1]); }
  });
  poll();
  setInterval(poll, 1000);
})();
