/**
 * The report page's own script, as plain browser JavaScript (ES2017, no template literals or
 * backslashes, so it lives in a template string unchanged). It draws the charts with uPlot from the JSON block the renderer embedded; all
 * text the page shows from the journal is rendered server-side and escaped, the charts only take
 * numbers and labels it sets through canvas text (which cannot run markup).
 */
export const CLIENT_SCRIPT = `(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('switchyard-data').textContent);
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }
  function clock(s) {
    s = Math.round(s);
    var r = s % 60;
    return Math.floor(s / 60) + ':' + (r < 10 ? '0' : '') + r;
  }
  function ms(v) {
    if (v == null) return '–';
    return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 1 : 2) + ' s' : Math.round(v) + ' ms';
  }
  function msTick(v) {
    return v >= 1000 ? +(v / 1000).toFixed(2) + ' s' : v + ' ms';
  }
  function pct(v) {
    return v == null ? '–' : v.toFixed(1) + '%';
  }
  function usd(v) {
    if (v == null) return '–';
    if (v === 0) return '$0';
    return '$' + (v >= 1 ? v.toFixed(2) : +v.toPrecision(3));
  }
  function usdTick(v) {
    return v === 0 ? '$0' : '$' + +v.toPrecision(2);
  }

  function theme() {
    return {
      fg: css('--fg-muted'),
      grid: css('--grid'),
      fault: css('--fault-shade'),
      faultText: css('--fault-text'),
      p50: css('--c-p50'),
      p95: css('--c-p95'),
      p99: css('--c-p99'),
      success: css('--c-success'),
      failure: css('--c-failure'),
      fallback: css('--c-fallback'),
      cost: css('--c-cost'),
      wasted: css('--c-wasted'),
      wastedFill: css('--c-wasted-fill'),
      states: { closed: css('--c-closed'), open: css('--c-open'), half_open: css('--c-half-open') },
      other: css('--c-other'),
    };
  }

  // Fault windows are shaded under every time chart, so cause and effect line up by eye; their
  // labels go in a gutter above the plot, where no data line can cross them.
  var GUTTER = 18;
  function shadeFaults(t) {
    return function (u) {
      var ctx = u.ctx;
      var px = uPlot.pxRatio;
      var labelEnd = -Infinity;
      ctx.save();
      ctx.font = 11 * px + 'px system-ui, sans-serif';
      ctx.textBaseline = 'bottom';
      data.faults.forEach(function (f) {
        var x0 = u.valToPos(f.from, 'x', true);
        var x1 = u.valToPos(f.to, 'x', true);
        ctx.fillStyle = t.fault;
        ctx.fillRect(x0, u.bbox.top, Math.max(px, x1 - x0), u.bbox.height);
        ctx.fillRect(x0, u.bbox.top - 3 * px, Math.max(px, x1 - x0), 3 * px);
        var x = Math.max(x0, labelEnd + 10 * px);
        ctx.fillStyle = t.faultText;
        ctx.fillText(f.label, x, u.bbox.top - 5 * px);
        labelEnd = x + ctx.measureText(f.label).width;
      });
      ctx.restore();
    };
  }

  function xAxis(t) {
    return {
      stroke: t.fg,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1 },
      incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200],
      values: function (u, splits) {
        return splits.map(clock);
      },
    };
  }
  function yAxis(t, fmt, extra) {
    var axis = {
      stroke: t.fg,
      grid: { stroke: t.grid, width: 1 },
      ticks: { stroke: t.grid, width: 1 },
      size: 64,
      values: function (u, splits) {
        return splits.map(fmt);
      },
    };
    for (var k in extra || {}) axis[k] = extra[k];
    return axis;
  }
  function line(label, color, fmt, extra) {
    var s = { label: label, stroke: color, width: 2, spanGaps: false, points: { show: false }, value: function (u, v) { return fmt(v); } };
    for (var k in extra || {}) s[k] = extra[k];
    return s;
  }
  function base(el, t, height) {
    return {
      width: Math.max(320, el.clientWidth),
      height: height,
      scales: { x: { time: false, range: [0, data.durationS] } },
      cursor: { sync: { key: 'switchyard' }, drag: { x: false, y: false }, points: { size: 6 } },
      legend: { live: true },
      padding: [data.faults.length ? GUTTER + 6 : 10, 28, 0, 0],
      hooks: { drawClear: [shadeFaults(t)] },
    };
  }
  // The colours that only data can produce: the test reads them back from the canvas.
  function mark(el, colors) {
    el.setAttribute('data-colors', JSON.stringify(colors));
  }

  var builders = {
    latency: function (el, t) {
      var o = base(el, t, 260);
      o.axes = [xAxis(t), yAxis(t, msTick)];
      o.series = [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } },
        line('p50', t.p50, ms), line('p95', t.p95, ms), line('p99', t.p99, ms, { dash: [6, 4] })];
      mark(el, [t.p50, t.p95, t.p99]);
      return new uPlot(o, [data.x, data.latency.p50, data.latency.p95, data.latency.p99], el);
    },
    ttft: function (el, t) {
      var o = base(el, t, 220);
      o.axes = [xAxis(t), yAxis(t, msTick)];
      o.series = [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } },
        line('TTFT p50', t.p50, ms), line('TTFT p95', t.p95, ms), line('TTFT p99', t.p99, ms, { dash: [6, 4] })];
      mark(el, [t.p50, t.p95, t.p99]);
      return new uPlot(o, [data.x, data.ttft.p50, data.ttft.p95, data.ttft.p99], el);
    },
    outcomes: function (el, t) {
      var o = base(el, t, 240);
      o.scales.y = { range: [0, 100] };
      o.axes = [xAxis(t), yAxis(t, function (v) { return v + '%'; })];
      o.series = [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } },
        line('success', t.success, pct), line('failure', t.failure, pct), line('fallback', t.fallback, pct, { dash: [6, 4] })];
      mark(el, [t.success, t.failure, t.fallback]);
      return new uPlot(o, [data.x, data.rates.success, data.rates.failure, data.rates.fallback], el);
    },
    cost: function (el, t) {
      var o = base(el, t, 240);
      o.scales.usd = { range: function (u, min, max) { return [0, max > 0 ? max * 1.15 : 1]; } };
      o.scales.waste = { range: function (u, min, max) { return [0, max > 0 ? max * 1.15 : 1]; } };
      o.axes = [xAxis(t), yAxis(t, usdTick, { scale: 'usd' }), yAxis(t, usdTick, { scale: 'waste', side: 1, grid: { show: false } })];
      // Bars first so the line stays readable on top of them.
      o.series = [{ label: 'time', value: function (u, v) { return v == null ? '–' : clock(v); } },
        { label: 'wasted spend', scale: 'waste', stroke: t.wasted, fill: t.wastedFill, width: 1, paths: uPlot.paths.bars({ size: [0.5, 100] }), points: { show: false }, value: function (u, v) { return usd(v); } },
        line('cost per success', t.cost, usd, { scale: 'usd' })];
      mark(el, [t.cost, t.wasted]);
      return new uPlot(o, [data.x, data.cost.wasted, data.cost.perSuccess], el);
    },
    breakers: function (el, t) {
      var lanes = data.breakers;
      var n = Math.max(1, lanes.length);
      var longest = lanes.reduce(function (m, l) { return Math.max(m, l.name.length); }, 8);
      var o = base(el, t, 56 + n * 36);
      o.legend = { show: false };
      o.cursor = { sync: { key: 'switchyard' }, drag: { x: false, y: false }, y: false, points: { show: false } };
      o.scales.lane = { range: [0, n] };
      o.axes = [xAxis(t), {
        scale: 'lane', stroke: t.fg, grid: { show: false }, ticks: { show: false },
        size: Math.min(220, 16 + longest * 7),
        splits: function () { return lanes.map(function (l, i) { return n - i - 0.5; }); },
        values: function () { return lanes.map(function (l) { return l.name; }); },
      }];
      o.series = [{}];
      o.hooks.draw = [function (u) {
        var ctx = u.ctx;
        ctx.save();
        lanes.forEach(function (lane, i) {
          var top = u.valToPos(n - i - 0.2, 'lane', true);
          var bottom = u.valToPos(n - i - 0.8, 'lane', true);
          lane.segments.forEach(function (seg) {
            var x0 = u.valToPos(seg[0], 'x', true);
            var x1 = u.valToPos(seg[1], 'x', true);
            ctx.fillStyle = t.states[seg[2]] || t.other;
            ctx.fillRect(x0, top, Math.max(uPlot.pxRatio, x1 - x0), bottom - top);
          });
        });
        ctx.restore();
      }];
      mark(el, [t.states.closed, t.states.open]);
      return new uPlot(o, [data.x], el);
    },
  };

  function build() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    var t = theme();
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var make = builders[el.getAttribute('data-chart')];
      if (make) charts.push(make(el, t));
    });
    document.documentElement.setAttribute('data-charts-ready', String(charts.length));
  }

  var pending;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      charts.forEach(function (c) { c.setSize({ width: Math.max(320, c.root.parentNode.clientWidth), height: c.height }); });
    }, 100);
  });
  // Canvas colours come from CSS variables: redraw when the colour scheme flips.
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', build);
  build();
})();
`;
