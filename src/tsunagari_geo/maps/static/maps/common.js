/* Shared helpers of the map and the dashboard. No framework: plain ES2017 on Leaflet. */
(function () {
  'use strict';
  var T = (window.Tsunagari = window.Tsunagari || {});

  /** A message in the page's language: ``id`` is the Japanese text, T.messages (the page's
   * config, made from the catalogue by tsunagari_geo.maps.i18n) holds its translation; a
   * message without one reads as Japanese. ``{name}`` placeholders are filled from values. */
  T.messages = T.messages || {};
  T._ = function (id, values) {
    var text = Object.prototype.hasOwnProperty.call(T.messages, id) ? T.messages[id] : id;
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : whole;
    });
  };
  var _ = T._;

  // Print buttons (data-print): bound here, since the pages' CSP runs no inline handlers.
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (target && target.closest && target.closest('[data-print]')) {
      window.print();
    }
  });

  /** Escape text for HTML (every value from the data goes through this). */
  T.esc = function (value) {
    return String(value === null || value === undefined ? '' : value).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  };

  /** Only http(s) links are shown as links; anything else (javascript:, data:) is dropped. */
  T.safeUrl = function (url) {
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
  };

  /** Fetch every feature of a GeoJSON collection, following OGC API "next" links. */
  T.fetchFeatures = async function (url) {
    var features = [];
    var next = url;
    var guard = 0;
    while (next && guard < 100) {
      guard += 1;
      var response = await fetch(next, { headers: { Accept: 'application/geo+json, application/json' } });
      if (!response.ok) {
        throw new Error(next + ' → HTTP ' + response.status);
      }
      var body = await response.json();
      features = features.concat(body.features || []);
      next = null;
      (body.links || []).forEach(function (link) {
        if (link.rel === 'next' && link.href) {
          next = new URL(link.href, window.location.href).href;
        }
      });
    }
    return features;
  };

  /** Fill a URL template's {name} placeholders. */
  T.fill = function (template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return encodeURIComponent(values[key]);
    });
  };

  T.showError = function (message) {
    var box = document.getElementById('tg-error');
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  };

  /** Great-circle distance in metres (good to a few metres at the scale of a prefecture). */
  T.distance = function (lat1, lng1, lat2, lng2) {
    var r = 6371008.8;
    var p1 = (lat1 * Math.PI) / 180;
    var p2 = (lat2 * Math.PI) / 180;
    var dp = p2 - p1;
    var dl = ((lng2 - lng1) * Math.PI) / 180;
    var a = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * r * Math.asin(Math.sqrt(a));
  };

  /** Attribution lines into the map's corner control. */
  T.addAttribution = function (map, lines) {
    (lines || []).forEach(function (line) {
      map.attributionControl.addAttribution(T.esc(line));
    });
  };

  /** A base map that fails (offline, firewall) leaves a note, never a broken page. */
  T.watchBasemap = function (map) {
    var failures = 0;
    map.eachLayer(function (layer) {
      if (layer instanceof L.TileLayer) {
        layer.on('tileerror', function () {
          failures += 1;
          if (failures === 4) {
            map.attributionControl.addAttribution(T.esc(_('背景地図を読み込めませんでした')));
          }
        });
      }
    });
  };
})();
