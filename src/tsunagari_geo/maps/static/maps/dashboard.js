/* The planners' dashboard: choropleth with legend and class breaks, a metric switch, the
 * 63/72 switch and a sortable, filterable table with downloads. */
(function () {
  'use strict';
  var T = (window.Tsunagari = window.Tsunagari || {});
  var esc = T.esc;
  var _ = function (id, values) {
    return T._(id, values);
  };
  // ColorBrewer YlOrRd (worse = darker) and its reverse for "higher is better" metrics.
  var RAMP = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026', '#800026', '#4d0019', '#33000f', '#1a0008'];

  function classOf(value, breaks) {
    if (value === null || value === undefined || isNaN(value)) return -1;
    for (var i = 0; i < breaks.length; i++) {
      if (value <= breaks[i]) return i;
    }
    return breaks.length - 1;
  }

  function colour(value, metric) {
    var k = classOf(value, metric.breaks);
    if (k < 0) return '#cccccc';
    var n = metric.breaks.length;
    return RAMP[metric.higher_is_worse ? k : n - 1 - k];
  }

  function fmt(value) {
    if (value === null || value === undefined || value === '') return '—';
    // Grouped digits (1,324,025) for planners reading populations; at most two decimals.
    if (typeof value === 'number') return value.toLocaleString(T.lang === 'en' ? 'en-US' : 'ja-JP', { maximumFractionDigits: 2 });
    return String(value);
  }

  /** The 63-level page of a row: a ward (区) of さいたま市 opens its city's page. */
  function pageCode(p) {
    return String(p.parent_code || p.code);
  }

  /** 「52位」, or 「52位（同順位 12）」 when other areas share the rank. */
  function rankText(rank, ties) {
    if (rank === null || rank === undefined || rank === '') return '—';
    var n = ties[rank] || 1;
    return n > 1 ? _('{rank}位（同順位 {ties}）', { rank: fmt(rank), ties: n }) : _('{rank}位', { rank: fmt(rank) });
  }

  function truthy(v) {
    return v === true || v === 1 || v === 'true' || v === '1';
  }

  T.startDashboard = function (map, cfg) {
    T.messages = cfg.messages || {};
    T.lang = cfg.lang || 'ja';
    var links = cfg.links;
    // 区域の名前はページの言語で（英語ではレジストリの name_en、なければ層の日本語名）。
    function placeName(p) {
      return (cfg.names || {})[p.code] || p.name;
    }
    var state = { level: 'municipalities', metric: null, sort: null, desc: false, filter: '', flagged: false };
    var cache = {};
    var shapes = L.featureGroup().addTo(map);
    T.map = map;
    // Half steps let the whole prefecture fill a phone's narrow screen.
    map.options.zoomSnap = 0.5;
    map.fitBounds(cfg.bounds, { animate: false });
    T.addAttribution(map, cfg.corner_attribution);
    L.control.scale({ imperial: false }).addTo(map);
    T.watchBasemap(map);
    var legend = L.control({ position: 'bottomright' });
    legend.onAdd = function () {
      var div = L.DomUtil.create('div', 'tg-map-legend');
      div.id = 'tg-map-legend';
      return div;
    };
    legend.addTo(map);

    function metrics() {
      return cfg.metrics[state.level] || [];
    }
    function flags() {
      return cfg.flags[state.level] || {};
    }
    function currentMetric() {
      var list = metrics();
      return (
        list.filter(function (m) {
          return m.column === state.metric;
        })[0] || list[0]
      );
    }

    function fillMetricSelect() {
      var select = document.getElementById('tg-metric');
      select.innerHTML = metrics()
        .map(function (m) {
          return '<option value="' + esc(m.column) + '">' + esc(m.label) + '</option>';
        })
        .join('');
      var m = currentMetric();
      if (m) select.value = m.column;
      state.metric = m ? m.column : null;
    }

    function drawLegend() {
      var m = currentMetric();
      var html = '';
      if (m) {
        html = '<strong>' + esc(m.label) + '</strong><ul>';
        var lower = null;
        m.breaks.forEach(function (b, i) {
          var range = lower === null ? _('〜 {upper}', { upper: fmt(b) }) : _('{lower} 超 〜 {upper}', { lower: fmt(lower), upper: fmt(b) });
          html += '<li><span class="tg-swatch" style="background:' + colour(b, m) + '"></span>' + esc(range) + '</li>';
          lower = b;
          return i;
        });
        html += '<li><span class="tg-swatch" style="background:#cccccc"></span>' + esc(_('データなし')) + '</li></ul>';
        html += '<p class="tg-meta">' + esc(_('単位: {unit}', { unit: m.unit })) + '</p>';
      }
      document.getElementById('tg-legend').innerHTML = html;
      var corner = document.getElementById('tg-map-legend');
      if (corner) corner.innerHTML = html;
    }

    // The choropleth fades while the small areas are shown, so their two colours read apart.
    function fillOpacity() {
      return state.smallAreas ? 0.25 : 0.85;
    }

    function drawMap(features) {
      var m = currentMetric();
      shapes.clearLayers();
      L.geoJSON({ type: 'FeatureCollection', features: features }, {
        style: function (f) {
          var v = m ? Number(f.properties[m.column]) : NaN;
          return { color: '#333', weight: 1, fillColor: m ? colour(v, m) : '#ddd', fillOpacity: fillOpacity(), className: 'tg-area' };
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          var v = m ? p[m.column] : null;
          layer.bindTooltip(esc(placeName(p)) + (m ? '<br>' + esc(m.label) + ': ' + esc(fmt(v)) : ''), { sticky: true });
          layer.on('click', function () {
            window.location.href = T.fill(links.municipality_page, { code: pageCode(p) });
          });
        },
      }).addTo(shapes);
      document.body.dataset.areas = String(features.length);
    }

    function columns() {
      return cfg.table[state.level] || [{ key: 'name', label: _('名称'), type: 'text' }];
    }

    function hasFlag(p) {
      return Object.keys(flags()).some(function (k) {
        return truthy(p[k]);
      });
    }

    function drawTable(features) {
      var cols = columns();
      var head = document.querySelector('#tg-table thead tr');
      head.innerHTML = cols
        .map(function (c) {
          var sort = state.sort === c.key ? (state.desc ? 'descending' : 'ascending') : 'none';
          return '<th scope="col" aria-sort="' + sort + '"><button type="button" data-key="' + esc(c.key) + '">' + esc(c.label) + '</button></th>';
        })
        .join('');
      var rows = features
        .map(function (f) {
          return f.properties;
        })
        .filter(function (p) {
          if (state.filter && String(placeName(p)).toLowerCase().indexOf(state.filter.toLowerCase()) < 0) return false;
          if (state.flagged && !hasFlag(p)) return false;
          return true;
        });
      if (state.sort) {
        var key = state.sort;
        rows.sort(function (a, b) {
          var x = a[key];
          var y = b[key];
          var r;
          if (typeof x === 'number' || typeof y === 'number') {
            r = (x === null || x === undefined ? -Infinity : x) - (y === null || y === undefined ? -Infinity : y);
          } else {
            r = String(x === null || x === undefined ? '' : x).localeCompare(String(y === null || y === undefined ? '' : y), 'ja');
          }
          return state.desc ? -r : r;
        });
      }
      // How many areas share each rank, over all of them (not only the filtered rows).
      var ties = {};
      features.forEach(function (f) {
        var r = f.properties.gap_rank;
        if (r !== null && r !== undefined) ties[r] = (ties[r] || 0) + 1;
      });
      var body = document.querySelector('#tg-table tbody');
      body.innerHTML = rows
        .map(function (p) {
          var code = String(p.code);
          var page = T.fill(links.municipality_page, { code: pageCode(p) });
          return (
            '<tr data-code="' + esc(code) + '">' +
            cols
              .map(function (c) {
                if (c.key === 'name') return '<th scope="row"><a href="' + esc(page) + '">' + esc(placeName(p)) + '</a></th>';
                if (c.type === 'flag') return '<td class="tg-flag">' + (truthy(p[c.key]) ? '●' : '') + '</td>';
                if (c.key === 'gap_rank') return '<td class="tg-num">' + esc(rankText(p[c.key], ties)) + '</td>';
                return '<td class="tg-num">' + esc(fmt(p[c.key])) + '</td>';
              })
              .join('') +
            '</tr>'
          );
        })
        .join('');
      document.getElementById('tg-rows').textContent = String(rows.length);
      head.querySelectorAll('button').forEach(function (button) {
        button.addEventListener('click', function () {
          var key = button.getAttribute('data-key');
          state.desc = state.sort === key ? !state.desc : false;
          state.sort = key;
          drawTable(features);
        });
      });
    }

    function downloads() {
      document.getElementById('tg-csv').href = T.fill(links.table, { level: state.level, fmt: 'csv' });
      document.getElementById('tg-xlsx').href = T.fill(links.table, { level: state.level, fmt: 'xlsx' });
    }

    async function show() {
      if (!cache[state.level]) {
        cache[state.level] = await T.fetchFeatures(T.fill(links.layer, { level: state.level }));
      }
      var features = cache[state.level];
      drawMap(features);
      drawLegend();
      drawTable(features);
      downloads();
      return features;
    }

    document.querySelectorAll('input[name="tg-level"]').forEach(function (radio) {
      radio.addEventListener('change', function (e) {
        state.level = e.target.value;
        state.sort = null;
        fillMetricSelect();
        show().catch(fail);
      });
    });
    document.getElementById('tg-metric').addEventListener('change', function (e) {
      state.metric = e.target.value;
      show().catch(fail);
    });
    document.getElementById('tg-filter').addEventListener('input', function (e) {
      state.filter = e.target.value.trim().normalize('NFKC');
      drawTable(cache[state.level] || []);
    });
    document.getElementById('tg-flagged').addEventListener('change', function (e) {
      state.flagged = e.target.checked;
      drawTable(cache[state.level] || []);
    });
    function fail(err) {
      T.showError(_('データを読み込めませんでした。時間をおいて再度お試しください（{error}）', { error: err.message }));
    }

    // 小地域（国勢調査2020年）: 1km以内に対面の活動があるか。5,979 の円は canvas に描く。
    var smallAreas = null;
    function drawSmallAreas(features) {
      // Their own pane above the choropleth (overlayPane 400), under the plan's markers.
      var pane = map.createPane('tg-small-areas');
      pane.style.zIndex = 450;
      var renderer = L.canvas({ padding: 0.2, pane: 'tg-small-areas' });
      smallAreas = L.layerGroup();
      features.forEach(function (f) {
        var p = f.properties;
        var c = f.geometry && f.geometry.coordinates;
        if (!c || !(p.population > 0)) return;
        var reached = p.pop_reach_1km === 1;
        var near = p.nearest_m === null || p.nearest_m === undefined ? '' : _('（最寄り {metres}m）', { metres: fmt(Math.round(p.nearest_m)) });
        L.circleMarker([c[1], c[0]], {
          renderer: renderer,
          radius: Math.max(2, Math.min(10, Math.sqrt(p.population) / 12)),
          weight: 0.5,
          color: '#222',
          fillColor: reached ? '#2166ac' : '#d6604d',
          fillOpacity: 0.8,
        })
          .bindTooltip(esc(p.name) + '<br>' + esc(_('人口 {people}人', { people: fmt(p.population) })) + '<br>' + esc(reached ? _('1km以内に対面の活動あり') : _('1km以内に対面の活動なし')) + esc(near))
          .addTo(smallAreas);
      });
      document.body.dataset.smallAreaPoints = String(smallAreas.getLayers().length);
    }
    var toggle = document.getElementById('tg-small-area-toggle');
    if (toggle && cfg.small_areas) {
      toggle.addEventListener('change', function () {
        state.smallAreas = toggle.checked;
        shapes.setStyle({ fillOpacity: fillOpacity() });
        if (!toggle.checked) {
          if (smallAreas) map.removeLayer(smallAreas);
          document.body.dataset.smallAreas = 'hidden';
          return;
        }
        var loaded = smallAreas ? Promise.resolve() : T.fetchFeatures(links.small_areas).then(drawSmallAreas);
        loaded.then(function () {
          if (toggle.checked) smallAreas.addTo(map);
          document.body.dataset.smallAreas = 'shown';
        }).catch(fail);
      });
    }

    // 新しい場所の候補（計画担当者向けの表を読み込むときだけ cfg.plan がある）。
    (cfg.plan || []).forEach(function (row) {
      var text = _('候補{order}: {area} {name}（新たに {newly}人、累計 {total}人）', {
        order: row.order,
        area: row.area,
        name: row.name,
        newly: fmt(row.newly_reached),
        total: fmt(row.running_total),
      });
      L.marker([row.lat, row.lng], {
        icon: L.divIcon({ className: 'tg-plan-marker', html: esc(String(row.order)), iconSize: [28, 28] }),
        title: text,
        alt: text,
        zIndexOffset: 1000,
      })
        .bindTooltip(esc(text))
        .addTo(map);
    });
    document.body.dataset.planPoints = String((cfg.plan || []).length);

    fillMetricSelect();
    T.ready = show().then(function () {
      requestAnimationFrame(function () {
        T.firstChoroplethAt = performance.now();
        document.body.dataset.ready = 'choropleth';
      });
    }, fail);
  };
})();
