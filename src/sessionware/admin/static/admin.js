// The sessions admin's live part, no build step: poll metrics.json every second and
// draw rates and latencies as SVG; search, page, show, revoke and delete with fetch,
// replacing only the sessions table, so the charts keep their history.
(function () {
  "use strict";

  var WINDOW = 60; // seconds of history kept and drawn
  var SVG = "http://www.w3.org/2000/svg";
  var CSRF = document.querySelector('meta[name="csrf-token"]').content;
  var history = [];
  var previous = null;
  var shownLive = null;
  var view = document.getElementById("sessions-view");
  var operationSelect = document.getElementById("latency-operation");

  function byId(id) { return document.getElementById(id); }

  function text(id, value) {
    var node = byId(id);
    if (node) { node.textContent = value; }
  }

  function checked(response) {
    if (!response.ok) { throw new Error("HTTP " + response.status); }
    return response;
  }

  // -- the sessions table ------------------------------------------------------------

  function notice(message) {
    var node = byId("notice");
    node.textContent = message;
    node.hidden = !message;
  }

  function loadSessions(query, page) {
    var url = "sessions?" + new URLSearchParams({ user: query, page: String(page || 1) });
    return fetch(url, { cache: "no-store", credentials: "same-origin" })
      .then(checked)
      .then(function (response) { return response.text(); })
      .then(function (html) {
        view.innerHTML = html; // rendered and escaped by the server's templates
        var summary = byId("sessions-summary");
        shownLive = summary ? Number(summary.getAttribute("data-live")) : null;
        if (shownLive !== null) { text("live-sessions", String(shownLive)); }
      });
  }

  function currentQuery() { return byId("sessions").getAttribute("data-query") || ""; }
  function currentPage() { return Number(byId("sessions").getAttribute("data-page")) || 1; }

  function change(path, body, question) {
    if (!window.confirm(question)) { return; }
    fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify(body)
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) { throw new Error(answer.error || "HTTP " + response.status); }
          return answer;
        });
      })
      .then(function (answer) {
        notice(answer.message);
        byId("detail").textContent = "";
        return loadSessions(currentQuery(), currentPage());
      })
      .catch(function (error) { notice("Failed: " + error.message); });
  }

  view.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) { return; }
    if (button.hasAttribute("data-revoke")) {
      var user = button.getAttribute("data-revoke");
      change("revoke", { user: user }, "Revoke every session of " + user + "? They are logged out everywhere.");
    } else if (button.hasAttribute("data-delete")) {
      var key = button.getAttribute("data-delete");
      change("delete", { key: key }, "Delete session " + key.slice(0, 12) + "…?");
    } else if (button.hasAttribute("data-page")) {
      loadSessions(currentQuery(), Number(button.getAttribute("data-page")));
    } else if (button.hasAttribute("data-show")) {
      fetch("session?" + new URLSearchParams({ key: button.getAttribute("data-show") }),
        { cache: "no-store", credentials: "same-origin" })
        .then(checked)
        .then(function (response) { return response.text(); })
        .then(function (html) { byId("detail").innerHTML = html; })
        .catch(function (error) { notice("Failed: " + error.message); });
    }
  });

  byId("search").addEventListener("submit", function (event) {
    event.preventDefault();
    notice("");
    loadSessions(byId("search-user").value.trim(), 1);
  });
  byId("search-clear").addEventListener("click", function () {
    byId("search-user").value = "";
    notice("");
    loadSessions("", 1);
  });

  // -- the metrics feed ----------------------------------------------------------------

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
      document.body.setAttribute("data-samples", String(history.length));
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

  // series: arrays of numbers, one per line, aligned with history; one axis per chart.
  function drawChart(svg, series) {
    if (!svg) { return; }
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
    if (!body || rows.length === 0) { return; }
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

  function drawFigures(feed) {
    var visits = feed.visits;
    if (visits) {
      text("visits-queued", String(visits.queued));
      text("visits-pending", String(visits.pending));
      text("visits-flushed", String(visits.flushed));
      text("visits-flushes", visits.flushes + " (" + visits.failed_flushes + ")");
      text("visits-dropped", String(visits.dropped));
    }
    text("cache-lookups", feed.cache.found + " / " + feed.cache.missing);
    var fast = feed.cache.fast_tier_sessions;
    text("cache-fast", fast === null ? "no fast tier" : String(fast));
    var near = feed.near_cache;
    if (near) {
      ["hits", "misses", "invalidations", "resets", "evictions", "entries", "bytes"].forEach(function (name) {
        text("near-" + name, String(near[name]));
      });
      text("near-ratio", near.hit_ratio === null ? "-" : (100 * near.hit_ratio).toFixed(1) + " %");
    }
  }

  function draw(feed, sample) {
    text("live-sessions", String(feed.live_sessions));
    drawFigures(feed);
    if (!feed.snapshot) { return; }
    text("rate-requests", format(sample.requests));
    text("rate-operations", format(sample.operations));
    var errors = feed.snapshot.events.on_error;
    Object.keys(feed.snapshot.operations).forEach(function (name) {
      errors += feed.snapshot.operations[name].errors;
    });
    text("error-count", String(errors));
    drawChart(byId("chart-requests"), [history.map(function (s) { return s.requests; })]);
    drawChart(byId("chart-operations"), [history.map(function (s) { return s.operations; })]);
    if (operationSelect) {
      var operation = operationSelect.value;
      drawChart(byId("chart-latency"), [0, 1, 2].map(function (which) {
        return history.map(function (s) { return (s.latency[operation] || [0, 0, 0])[which]; });
      }));
    }
    drawOperationsTable(feed, sample);
  }

  var polling = false;
  function poll() {
    if (polling) { return; }
    polling = true;
    fetch("metrics.json", { cache: "no-store", credentials: "same-origin" })
      .then(checked)
      .then(function (response) { return response.json(); })
      .then(function (feed) {
        draw(feed, feed.snapshot ? record(feed) : null);
        text("feed-status", "");
        document.body.setAttribute("data-feed", "live");
        // The table follows the tile: a session came or went, so it is read again.
        if (shownLive !== null && feed.live_sessions !== shownLive) {
          shownLive = feed.live_sessions;
          return loadSessions(currentQuery(), currentPage());
        }
      })
      .catch(function (error) {
        text("feed-status", "Metrics feed unavailable: " + error.message);
      })
      .then(function () { polling = false; });
  }

  var summary = byId("sessions-summary");
  shownLive = summary ? Number(summary.getAttribute("data-live")) : null;
  if (operationSelect) {
    operationSelect.addEventListener("change", function () {
      if (previous && history.length > 0) { draw(previous, history[history.length - 1]); }
    });
  }
  poll();
  setInterval(poll, 1000);
})();
