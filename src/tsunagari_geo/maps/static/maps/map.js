/* The public map: clustered activities with filters, popups, address search, 近くの活動,
 * consultation windows and good practices. Data comes from cfg.links (API or static files). */
(function () {
  'use strict';
  var T = (window.Tsunagari = window.Tsunagari || {});
  var esc = T.esc;

  // The words of the contacts, 次の開催日, ages and languages, in one place (the page's
  // other strings are written where they are used).
  var TEXT = {
    phone: '電話',
    email: 'メール',
    website: 'ウェブサイト',
    line: 'LINE で相談・連絡',
    contact: '連絡先',
    nextDates: '次の開催日',
    ages: '対象年齢',
    languages: '対応言語',
    weekdays: ['日', '月', '火', '水', '木', '金', '土'],
    noDates: 'この先の予定は団体にお問い合わせください',
    age: function (low, high) {
      if (low !== null && high !== null) return low + '〜' + high + '歳';
      if (low !== null) return low + '歳以上';
      return high + '歳まで';
    },
    day: function (month, date, weekday) {
      return month + '月' + date + '日(' + weekday + ')';
    },
    outsideCalendar: function (first, last) {
      return '開催日がわかるのは ' + first + ' から ' + last + ' までです';
    },
  };
  T.TEXT = TEXT;

  function present(value) {
    return value !== null && value !== undefined && value !== '' && !(typeof value === 'number' && isNaN(value));
  }

  // Days of the calendar are whole days in Japan: counted in UTC on dates shifted by +9 h.
  var DAY_MS = 86400000;
  function dayNumber(iso) {
    var parts = String(iso).split('-');
    return Date.UTC(+parts[0], +parts[1] - 1, +parts[2]) / DAY_MS;
  }
  function todayInJapan() {
    return Math.floor((Date.now() + 9 * 3600000) / DAY_MS);
  }
  function isoOfDay(n) {
    return new Date(n * DAY_MS).toISOString().slice(0, 10);
  }

  /** The days an activity is open, as day numbers, from the calendar the server computed
   * from its rrule (this script never reads a rule). */
  function openDays(calendar, id) {
    if (!calendar || !calendar.open[id]) return [];
    var start = dayNumber(calendar.start);
    return calendar.open[id].map(function (offset) {
      return start + offset;
    });
  }

  function list(value) {
    if (Array.isArray(value)) return value;
    if (typeof value === 'string' && value) {
      try {
        var parsed = JSON.parse(value);
        if (Array.isArray(parsed)) return parsed;
      } catch (e) {
        /* a plain string: one value */
      }
      return value.split(/[;|、]/);
    }
    return [];
  }

  function labels(codes, table) {
    return list(codes)
      .map(function (c) {
        return table[c] || c;
      })
      .join('、');
  }

  // A 44 × 44 px touch target (WCAG 2.5.5) around a smaller drawn circle; the letter, not
  // only the colour, tells the theme (vocab.theme_marks: one distinct letter per theme).
  function themeIcon(code, vocab) {
    var colour = vocab.theme_colours[code] || '#555';
    var mark = vocab.theme_marks[code] || '・';
    return L.divIcon({
      className: 'tg-marker',
      html: '<span style="background:' + colour + '">' + esc(mark) + '</span>',
      iconSize: [44, 44],
      iconAnchor: [22, 22],
      popupAnchor: [0, -14],
    });
  }

  function clusterIcon(cluster) {
    var n = cluster.getChildCount();
    var size = n < 10 ? 'small' : n < 100 ? 'medium' : 'large';
    return L.divIcon({
      html: '<div><span>' + n + '</span></div>',
      className: 'marker-cluster marker-cluster-' + size + ' tg-cluster',
      iconSize: L.point(44, 44),
    });
  }

  /** The legend of the markers: each theme's letter and colour, as a list (not only colour). */
  function legendHtml(vocab) {
    var items = Object.keys(vocab.themes).map(function (code) {
      return (
        '<li><span class="tg-marker-key" style="background:' + vocab.theme_colours[code] + '" aria-hidden="true">' +
        esc(vocab.theme_marks[code]) + '</span>' + esc(vocab.theme_marks[code]) + ' ' + esc(vocab.themes[code]) + '</li>'
      );
    });
    return (
      '<p class="tg-meta">文字は活動の最初のテーマです（テーマで絞り込むとそのテーマの文字）。数字の丸はまとめて表示している活動の数です。</p>' +
      '<ul>' + items.join('') + '</ul>'
    );
  }

  /** Keep an open popup clear of the side panel and the map's controls (not only the map's
   * edges, which is all Leaflet's autoPan knows about). */
  function keepClear(map, popup) {
    var box = popup.getElement().getBoundingClientRect();
    var area = map.getContainer().getBoundingClientRect();
    var left = area.left + 8;
    var top = area.top + 8;
    var right = area.right - 8;
    var panel = document.getElementById('tg-panel');
    var p = panel && !panel.classList.contains('tg-collapsed') ? panel.getBoundingClientRect() : null;
    if (p && p.width && p.width < area.width / 2) left = Math.max(left, p.right + 8);
    map.getContainer().querySelectorAll('.leaflet-top .leaflet-control').forEach(function (c) {
      var r = c.getBoundingClientRect();
      if (r.width && r.left < box.right && r.right > box.left) top = Math.max(top, r.bottom + 8);
    });
    var bottom = area.bottom - 8;
    if (p && p.width >= area.width / 2) bottom = Math.min(bottom, p.top - 8); // a phone's bottom sheet
    var dx = box.left < left ? box.left - left : box.right > right ? Math.min(box.right - right, box.left - left) : 0;
    var dy = box.top < top ? box.top - top : box.bottom > bottom ? Math.min(box.bottom - bottom, box.top - top) : 0;
    if (dx || dy) map.panBy([dx, dy], { animate: false });
  }

  /** 次の開催日: the next three open days from today, with the day's hours. */
  function nextDatesHtml(p, calendar) {
    if (!calendar || !present(p.rrule)) return '';
    var today = todayInJapan();
    var days = openDays(calendar, p.id)
      .filter(function (n) {
        return n >= today;
      })
      .slice(0, 3);
    if (!days.length) return esc(TEXT.noDates);
    var hours = present(p.opens_at) ? ' ' + p.opens_at + (present(p.closes_at) ? '–' + p.closes_at : '') : '';
    return (
      '<ul class="tg-dates">' +
      days
        .map(function (n) {
          var d = new Date(n * DAY_MS);
          return '<li>' + esc(TEXT.day(d.getUTCMonth() + 1, d.getUTCDate(), TEXT.weekdays[d.getUTCDay()]) + hours) + '</li>';
        })
        .join('') +
      '</ul>'
    );
  }

  /** Tap to call, mail, web and LINE: only what the public view carries (the member's choice). */
  function contactHtml(p) {
    var links = [];
    if (present(p.phone_uri) && /^tel:[0-9%]+$/.test(p.phone_uri)) {
      links.push('<a class="tg-tel" href="' + esc(p.phone_uri) + '">' + esc(TEXT.phone + ' ' + p.phone) + '</a>');
    }
    if (present(p.email) && /^[^\s@<>"]+@[^\s@<>"]+$/.test(p.email)) {
      links.push('<a class="tg-contact-link" href="mailto:' + esc(p.email) + '">' + esc(TEXT.email) + '</a>');
    }
    var url = T.safeUrl(p.url);
    if (url) links.push('<a class="tg-contact-link" href="' + esc(url) + '" target="_blank" rel="noopener">' + esc(TEXT.website) + '</a>');
    var line = T.safeUrl(p.line_url);
    if (line) links.push('<a class="tg-contact-link" href="' + esc(line) + '" target="_blank" rel="noopener">' + esc(TEXT.line) + '</a>');
    return links.length ? '<p class="tg-contact">' + links.join(' ') + '</p>' : '';
  }

  function popupHtml(p, vocab, calendar) {
    var rows = [];
    function row(label, value, html) {
      if (present(value)) {
        rows.push('<tr><th scope="row">' + label + '</th><td>' + (html ? value : esc(value)) + '</td></tr>');
      }
    }
    var low = present(p.minimum_age) ? Number(p.minimum_age) : null;
    var high = present(p.maximum_age) ? Number(p.maximum_age) : null;
    row('団体', p.organization_name || p.organization || '');
    row('テーマ', labels(p.themes, vocab.themes));
    row('対象', p.target_text || labels(p.life_stages, vocab.life_stages));
    if (low !== null || high !== null) row(TEXT.ages, TEXT.age(low, high));
    row('形態', vocab.formats[p.format] || p.format);
    row('日時', p.schedule_text);
    row(TEXT.nextDates, nextDatesHtml(p, calendar), true);
    row(TEXT.languages, labels(p.languages, vocab.languages));
    row('参加費', p.fee);
    row('最終確認日', p.last_verified);
    var html = '<div class="tg-popup"><h3>' + esc(p.name) + '</h3>';
    if (p.description) html += '<p>' + esc(p.description) + '</p>';
    html += '<table>' + rows.join('') + '</table>';
    html += contactHtml(p);
    var note = vocab.privacy_notes[p.location_precision || p.location_privacy];
    if (note) html += '<p class="tg-privacy">' + esc(note) + '</p>';
    return html + '</div>';
  }

  T.startMap = function (map, cfg) {
    var vocab = cfg.vocab;
    var links = cfg.links;
    var state = { theme: '', stage: '', format: '', muni: '', openOn: '', age: '', language: '' };
    var calendar = null;
    var activities = [];
    var remote = [];
    var cluster = L.markerClusterGroup({
      chunkedLoading: true,
      showCoverageOnHover: false,
      maxClusterRadius: 50,
      iconCreateFunction: clusterIcon,
    });
    var outlines = L.layerGroup().addTo(map);
    var consultationLayer = L.layerGroup();
    var practiceLayer = L.layerGroup();
    var searchMarker = null;
    var origin = null;
    T.map = map;
    T.cluster = cluster;
    // Without a tile layer Leaflet knows no maximum zoom, and clustering needs one.
    map.setMaxZoom(18);
    // Half steps let the whole prefecture fill a phone's narrow screen.
    map.options.zoomSnap = 0.5;
    // No animation: a zoom animation still running when a fast search sets its view would
    // end by putting this zoom back (seen in a browser test, one search in four).
    map.fitBounds(cfg.bounds, { animate: false });
    map.addLayer(cluster);
    T.addAttribution(map, cfg.corner_attribution);
    L.control.scale({ imperial: false }).addTo(map);
    T.watchBasemap(map);
    var legend = L.control({ position: 'topright' });
    legend.onAdd = function () {
      var box = L.DomUtil.create('details', 'tg-map-legend tg-marker-legend');
      box.id = 'tg-marker-legend';
      box.innerHTML = '<summary>凡例（マーカーの文字と色）</summary>' + legendHtml(vocab);
      // Open on a desktop; on a phone it would cover the map, so it starts folded.
      box.open = !window.matchMedia('(max-width: 700px)').matches;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    legend.addTo(map);
    // Again after a zoom: a popup opened while the map was still zooming moves with it.
    var openPopup = null;
    map.on('popupopen', function (e) {
      openPopup = e.popup;
      keepClear(map, e.popup);
      // And once laid out: the popup's height is final only after the next frame.
      requestAnimationFrame(function () {
        if (openPopup === e.popup) keepClear(map, e.popup);
      });
    });
    map.on('popupclose', function () {
      openPopup = null;
    });
    map.on('zoomend', function () {
      if (openPopup) keepClear(map, openPopup);
    });

    function matches(a) {
      var p = a.properties;
      if (state.theme && list(p.themes).indexOf(state.theme) < 0) return false;
      if (state.stage && list(p.life_stages).indexOf(state.stage) < 0) return false;
      if (state.format && p.format !== state.format) return false;
      if (state.language && list(p.languages).indexOf(state.language) < 0) return false;
      if (state.age !== '') {
        var age = Number(state.age);
        if (present(p.minimum_age) && Number(p.minimum_age) > age) return false;
        if (present(p.maximum_age) && Number(p.maximum_age) < age) return false;
      }
      if (state.openOn && openDays(calendar, p.id).indexOf(dayNumber(state.openOn)) < 0) return false;
      // muni_code is the 63-level code (さいたま市 is 11100 for all its wards).
      if (state.muni && String(p.muni_code || '') !== state.muni) {
        // Online and phone services for the whole prefecture or this municipality still count.
        var serves = list(p.serves);
        if (p.muni_code || (serves.indexOf('prefecture') < 0 && serves.indexOf(state.muni) < 0)) return false;
      }
      return true;
    }

    function visible() {
      return activities.filter(matches);
    }

    // The marker shows the theme being filtered on, else the activity's first theme.
    function markerTheme(p) {
      return state.theme && list(p.themes).indexOf(state.theme) >= 0 ? state.theme : list(p.themes)[0];
    }

    function redraw() {
      var shown = visible();
      shown.forEach(function (a) {
        var theme = markerTheme(a.properties);
        if (a.theme !== theme) {
          a.theme = theme;
          a.marker.setIcon(themeIcon(theme, vocab));
        }
      });
      cluster.clearLayers();
      cluster.addLayers(
        shown.map(function (a) {
          return a.marker;
        })
      );
      document.getElementById('tg-count').textContent = String(shown.length);
      var remoteShown = remote.filter(matches);
      document.getElementById('tg-remote-count').textContent = String(remoteShown.length);
      document.getElementById('tg-remote').innerHTML = remoteShown
        .map(function (a) {
          return '<li>' + popupHtml(a.properties, vocab, calendar) + '</li>';
        })
        .join('');
      document.body.dataset.markers = String(shown.length);
      if (origin) nearby(origin.lat, origin.lng, origin.label);
      else drawList();
      return shown.length;
    }
    T.visibleCount = function () {
      return cluster.getLayers().length;
    };

    function bindFilter(id, key) {
      document.getElementById(id).addEventListener('change', function (e) {
        state[key] = e.target.value;
        redraw();
      });
    }
    bindFilter('tg-theme', 'theme');
    bindFilter('tg-stage', 'stage');
    bindFilter('tg-format', 'format');
    bindFilter('tg-muni', 'muni');
    bindFilter('tg-language', 'language');
    // The day and the age are typed: they filter as they change, and say when they cannot.
    function onDay() {
      var value = document.getElementById('tg-open-on').value;
      var note = document.getElementById('tg-open-on-note');
      state.openOn = /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : '';
      note.textContent = '';
      if (state.openOn && calendar) {
        var first = dayNumber(calendar.start);
        var day = dayNumber(state.openOn);
        if (day < first || day >= first + calendar.days) {
          note.textContent = TEXT.outsideCalendar(isoOfDay(first), isoOfDay(first + calendar.days - 1));
        }
      }
      redraw();
    }
    document.getElementById('tg-open-on').addEventListener('change', onDay);
    document.getElementById('tg-age').addEventListener('input', function (e) {
      var value = e.target.value.trim();
      state.age = /^\d{1,3}$/.test(value) && Number(value) <= 120 ? value : '';
      redraw();
    });

    // One ranking for 近くの活動 and the list view: the shown activities, nearest first from
    // the searched point, or by municipality and name before any search.
    function ranked() {
      var rows = visible().map(function (a) {
        return { a: a, d: origin ? T.distance(origin.lat, origin.lng, a.lat, a.lng) : null };
      });
      if (origin) {
        return rows.sort(function (x, y) {
          return x.d - y.d;
        });
      }
      return rows.sort(function (x, y) {
        var mx = vocab.municipalities[x.a.properties.muni_code] || '';
        var my = vocab.municipalities[y.a.properties.muni_code] || '';
        return mx.localeCompare(my, 'ja') || String(x.a.properties.name).localeCompare(String(y.a.properties.name), 'ja');
      });
    }

    function listItem(r, full) {
      var p = r.a.properties;
      var li = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'tg-link';
      button.textContent = p.name;
      button.title = '地図で見る';
      button.addEventListener('click', function () {
        showMarker(r.a.marker);
      });
      var parts = [];
      if (r.d !== null) parts.push('約' + (r.d / 1000).toFixed(r.d < 10000 ? 1 : 0) + 'km');
      if (full && vocab.municipalities[p.muni_code]) parts.push(vocab.municipalities[p.muni_code]);
      parts.push(labels(p.themes, vocab.themes));
      var meta = document.createElement('span');
      meta.className = 'tg-meta';
      meta.textContent = ' ' + parts.join('・');
      li.appendChild(button);
      li.appendChild(meta);
      if (full) {
        var more = document.createElement('details');
        var summary = document.createElement('summary');
        summary.textContent = '詳しく';
        more.appendChild(summary);
        // Filled when opened: hundreds of full entries would make every redraw slow.
        more.addEventListener('toggle', function () {
          if (more.open && more.children.length === 1) {
            var body = document.createElement('div');
            body.innerHTML = popupHtml(p, vocab, calendar);
            more.appendChild(body);
          }
        });
        li.appendChild(more);
      }
      return li;
    }

    /** The list view: every shown activity, in the order of 近くの活動. */
    function drawList(rows) {
      rows = rows || ranked();
      var box = document.getElementById('tg-list');
      box.replaceChildren.apply(
        box,
        rows.map(function (r) {
          return listItem(r, true);
        })
      );
      document.getElementById('tg-list-order').textContent = origin
        ? origin.label + 'から近い順（直線距離）'
        : '市町村順・名前順（住所で検索すると近い順）';
    }

    // The 市町村 filter applies to 近くの活動 too: said beside the list, never silently.
    function scopeNote() {
      return state.muni ? '（絞り込み中の' + vocab.municipalities[state.muni] + 'の活動だけ）' : '';
    }

    function nearby(lat, lng, label) {
      origin = { lat: lat, lng: lng, label: label };
      var rows = ranked();
      var box = document.getElementById('tg-nearby');
      box.replaceChildren.apply(
        box,
        rows.slice(0, 10).map(function (r) {
          return listItem(r, false);
        })
      );
      document.getElementById('tg-nearby-origin').textContent =
        label + 'から近い順（直線距離）' + scopeNote() + (rows.length ? '' : ': 条件に合う活動がありません');
      drawList(rows);
      var section = document.getElementById('tg-nearby-section');
      section.hidden = false;
      return section;
    }
    T.nearby = nearby;

    /** A search that found nothing leaves no earlier point, marker or nearby list behind. */
    function clearSearch() {
      if (searchMarker) map.removeLayer(searchMarker);
      searchMarker = null;
      origin = null;
      T.searchPoint = null;
      document.getElementById('tg-nearby').replaceChildren();
      document.getElementById('tg-nearby-section').hidden = true;
      drawList();
    }

    // Zoom until the marker leaves its cluster, then open its popup. zoomToShowLayer calls back
    // only after the map moves, so when the marker is already shown, or the map does not move
    // (already centred, or mid-animation), its callback never comes: ask again from wherever
    // the map has got to, a bounded number of times.
    function showMarker(marker, done) {
      var tries = 0;
      function open() {
        if (marker.isPopupOpen()) return;
        marker.openPopup();
        if (done) done(marker.getLatLng());
      }
      function attempt() {
        if (cluster.getVisibleParent(marker) === marker) {
          open();
          return;
        }
        tries += 1;
        cluster.zoomToShowLayer(marker, open);
        if (tries < 5) {
          setTimeout(function () {
            if (!marker.isPopupOpen()) attempt();
          }, 1500);
        }
      }
      attempt();
    }
    T.showMarker = showMarker;
    T.showActivity = function (id) {
      return new Promise(function (resolve, reject) {
        var marker = cluster.getLayers().find(function (l) {
          return l.feature && l.feature.properties.id === id;
        });
        if (!marker) {
          reject(new Error('no marker for activity ' + id));
          return;
        }
        showMarker(marker, resolve);
      });
    };

    function placeSearch(lat, lng, label, zoom) {
      if (searchMarker) map.removeLayer(searchMarker);
      searchMarker = L.circleMarker([lat, lng], { radius: 9, color: '#d00', weight: 3, fillOpacity: 0.2 })
        .bindTooltip(label)
        .addTo(map);
      // No animation: a long jump animates poorly, and the result is there at once.
      map.setView([lat, lng], zoom, { animate: false });
      var section = nearby(lat, lng, label);
      // On a phone the panel is a bottom sheet: bring the list into view under the map.
      var panel = document.getElementById('tg-panel');
      panel.classList.remove('tg-collapsed');
      panel.scrollTop = section.offsetTop - 8;
      // Centre the point in the part of the map the panel leaves visible.
      var box = panel.getBoundingClientRect();
      var mapBox = map.getContainer().getBoundingClientRect();
      var bottomSheet = box.width >= mapBox.width - 1;
      map.panBy(bottomSheet ? [0, (mapBox.bottom - box.top) / 2] : [-(box.right - mapBox.left) / 2, 0], { animate: false });
      T.searchPoint = L.latLng(lat, lng);
    }

    // --- address search: the service's /geocode, or on the static site the index that
    // `site build` generated from the same geocoder, searched by search.js (no rules here).
    var searcher = null;
    function loadScript(src) {
      return new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = src;
        script.onload = resolve;
        script.onerror = function () {
          reject(new Error(src + ' を読み込めませんでした'));
        };
        document.head.appendChild(script);
      });
    }
    async function searchTownIndex(q) {
      if (!searcher) {
        searcher = (T.search ? Promise.resolve() : loadScript(links.assets + '/maps/search.js')).then(function () {
          return T.search.load(links.town_index);
        });
        searcher.catch(function () {
          searcher = null; // let the next search try again
        });
      }
      var r = (await searcher).search(q);
      if (!r || r.outside) return null;
      return { lat: r.lat, lng: r.lng, label: r.city + r.town, zoom: r.town ? 14 : 12 };
    }
    async function searchApi(q) {
      var response = await fetch(links.geocode + '?q=' + encodeURIComponent(q), { headers: { Accept: 'application/json' } });
      if (!response.ok) return null;
      var r = await response.json();
      if (r.results) r = r.results[0];
      if (!r) return null;
      var suggestions = r.suggestions || [];
      if (r.lat === null || r.lat === undefined) return suggestions.length ? { suggestions: suggestions } : null;
      var label = (r.city || '') + (r.town || '') || q;
      // Short of a town, say how far the address was read, in the service's words (never a code).
      var note = r.level < 3 && r.status_label ? r.status_label : '';
      return { lat: r.lat, lng: r.lng, label: label, zoom: r.town ? 14 : 12, suggestions: suggestions, note: note };
    }
    // 「もしかして」: names one character away from what was typed, as buttons that search again.
    function showSuggestions(suggestions) {
      var box = document.getElementById('tg-search-suggestions');
      box.replaceChildren();
      if (!suggestions || !suggestions.length) return;
      var lead = document.createElement('span');
      lead.textContent = 'もしかして: ';
      box.appendChild(lead);
      suggestions.forEach(function (name) {
        var b = document.createElement('button');
        b.type = 'button';
        b.className = 'tg-suggestion';
        b.textContent = name;
        b.addEventListener('click', function () {
          document.getElementById('tg-address').value = name;
          document.getElementById('tg-search').requestSubmit();
        });
        box.appendChild(b);
      });
    }
    var searches = 0;
    document.getElementById('tg-search').addEventListener('submit', async function (e) {
      e.preventDefault();
      var q = document.getElementById('tg-address').value.trim();
      var status = document.getElementById('tg-search-status');
      if (!q) return;
      var search = ++searches;
      status.textContent = '検索中…';
      showSuggestions([]);
      try {
        var hit = links.geocode ? await searchApi(q) : null;
        if ((!hit || hit.lat === undefined) && links.town_index) hit = await searchTownIndex(q);
        if (search !== searches) return; // a newer search has started: this answer is stale
        if (hit) showSuggestions(hit.suggestions);
        if (!hit || hit.lat === undefined) {
          clearSearch();
          status.textContent = '「' + q + '」の場所が見つかりませんでした。市町村名から入力してください。';
          return;
        }
        status.textContent = hit.label + ' を表示しています' + (hit.note ? '（' + hit.note + '）' : '');
        placeSearch(hit.lat, hit.lng, hit.label, hit.zoom);
        // A near match was shown: keep its もしかして in view rather than the nearby list.
        if (hit.suggestions && hit.suggestions.length) document.getElementById('tg-panel').scrollTop = 0;
      } catch (err) {
        if (search !== searches) return;
        status.textContent = '検索できませんでした: ' + err.message;
      }
    });
    document.getElementById('tg-locate').addEventListener('click', function () {
      var status = document.getElementById('tg-search-status');
      if (!navigator.geolocation) {
        status.textContent = 'この端末では現在地を使えません';
        return;
      }
      status.textContent = '現在地を確認中…';
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          status.textContent = '現在地を表示しています';
          placeSearch(pos.coords.latitude, pos.coords.longitude, '現在地', 14);
        },
        function () {
          status.textContent = '現在地を取得できませんでした（位置情報の許可をご確認ください）';
        },
        { enableHighAccuracy: false, timeout: 10000 }
      );
    });

    // --- panel toggle for phones -------------------------------------------------------------
    var toggle = document.getElementById('tg-panel-toggle');
    toggle.addEventListener('click', function () {
      var panel = document.getElementById('tg-panel');
      var open = panel.classList.toggle('tg-collapsed') === false;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? '地図を見る' : 'さがす';
    });
    if (window.matchMedia('(max-width: 700px)').matches) {
      document.getElementById('tg-panel').classList.add('tg-collapsed');
      toggle.setAttribute('aria-expanded', 'false');
    }

    // --- layers ------------------------------------------------------------------------------
    function bindLayer(id, layer) {
      var box = document.getElementById(id);
      var apply = function () {
        if (box.checked) map.addLayer(layer);
        else map.removeLayer(layer);
      };
      box.addEventListener('change', apply);
      apply();
    }
    bindLayer('tg-layer-outlines', outlines);
    bindLayer('tg-layer-consultations', consultationLayer);
    bindLayer('tg-layer-practices', practiceLayer);

    // The open days come with the activities (the popup and the day filter read them).
    var calendarLoaded = fetch(links.calendar, { headers: { Accept: 'application/json' } }).then(function (response) {
      if (!response.ok) throw new Error(links.calendar + ' → HTTP ' + response.status);
      return response.json();
    });
    var activitiesLoaded = Promise.all([
      T.fetchFeatures(links.activities),
      calendarLoaded.catch(function () {
        return null;
      }),
    ]).then(function (loaded) {
      var features = loaded[0];
      calendar = loaded[1];
      T.calendar = calendar;
      if (calendar) {
        document.getElementById('tg-open-on').min = calendar.start;
        document.getElementById('tg-open-on').max = isoOfDay(dayNumber(calendar.start) + calendar.days - 1);
      }
      remote = features
        .filter(function (f) {
          return !f.geometry;
        })
        .map(function (f) {
          return { properties: f.properties || {}, lat: null, lng: null };
        });
      activities = features
        .filter(function (f) {
          return f.geometry && f.geometry.type === 'Point';
        })
        .map(function (f) {
          var p = f.properties || {};
          var c = f.geometry.coordinates;
          var marker = L.marker([c[1], c[0]], { icon: themeIcon(list(p.themes)[0], vocab), title: p.name || '', alt: p.name || '' });
          marker.bindPopup(function () {
            return popupHtml(p, vocab, calendar);
          }, { maxWidth: Math.min(320, window.innerWidth - 60), autoPan: false }); // keepClear pans
          marker.feature = f;
          return { properties: p, lat: c[1], lng: c[0], marker: marker, theme: list(p.themes)[0] };
        });
      redraw();
      requestAnimationFrame(function () {
        // Relative to navigation start (performance's time origin), for bench/map_bench.py.
        T.firstMarkersAt = performance.now();
        document.body.dataset.ready = 'markers';
      });
    });

    var outlinesLoaded = T.fetchFeatures(T.fill(links.outline, { level: 'municipalities' })).then(function (features) {
      L.geoJSON({ type: 'FeatureCollection', features: features }, {
        interactive: false,
        style: { color: '#4a4a4a', weight: 1, fill: cfg.basemap === 'blank', fillColor: '#f4f1e8', fillOpacity: 1, className: 'tg-outline' },
      }).addTo(outlines);
      outlines.eachLayer(function (l) {
        if (l.bringToBack) l.bringToBack();
      });
    });

    var consultations = [];
    function drawConsultations() {
      var stage = document.getElementById('tg-c-stage').value;
      var circumstance = document.getElementById('tg-c-circumstance').value;
      var shown = consultations.filter(function (f) {
        var p = f.properties;
        var stages = list(p.life_stages);
        if (stage && stages.indexOf(stage) < 0 && stages.indexOf('all_ages') < 0) return false;
        if (circumstance && list(p.circumstances).indexOf(circumstance) < 0) return false;
        return true;
      });
      var box = document.getElementById('tg-consultations');
      box.innerHTML = shown
        .map(function (f) {
          var p = f.properties;
          var html = '<li><strong>' + esc(p.name) + '</strong>';
          if (p.provider) html += '<br><span class="tg-meta">' + esc(p.provider) + '</span>';
          if (p.hours_text) html += '<br>' + esc(p.hours_text);
          html += contactHtml(p);
          html += '<br><span class="tg-meta">' + esc(labels(p.channels, vocab.channels)) + '</span>';
          return html + '</li>';
        })
        .join('');
      document.getElementById('tg-c-count').textContent = String(shown.length);
      consultationLayer.clearLayers();
      shown.forEach(function (f) {
        if (f.geometry && f.geometry.type === 'Point') {
          var c = f.geometry.coordinates;
          L.circleMarker([c[1], c[0]], { radius: 7, color: '#1565c0', fillColor: '#fff', fillOpacity: 1, weight: 3 })
            .bindPopup('<div class="tg-popup"><h3>' + esc(f.properties.name) + '</h3>' + esc(f.properties.hours_text || '') + '</div>')
            .addTo(consultationLayer);
        }
      });
    }
    document.getElementById('tg-c-stage').addEventListener('change', drawConsultations);
    document.getElementById('tg-c-circumstance').addEventListener('change', drawConsultations);
    var consultationsLoaded = T.fetchFeatures(links.consultations).then(function (features) {
      consultations = features;
      drawConsultations();
    });

    var practicesLoaded = T.fetchFeatures(links.good_practices).then(function (features) {
      var box = document.getElementById('tg-practices');
      box.innerHTML = features
        .map(function (f) {
          var p = f.properties;
          var award = p.award ? '<span class="tg-award">' + esc(p.award) + '</span> ' : '';
          var where = vocab.municipalities[p.muni_code] || '';
          return (
            '<li>' + award + '<strong>' + esc(p.title) + '</strong><br><span class="tg-meta">' +
            esc(p.organization_name || '') + (where ? '（' + esc(where) + '）' : '') +
            (p.fiscal_year ? ' ' + esc(p.fiscal_year) + '年度' : '') + '</span></li>'
          );
        })
        .join('');
      features.forEach(function (f) {
        if (f.geometry && f.geometry.type === 'Point') {
          var c = f.geometry.coordinates;
          L.marker([c[1], c[0]], { icon: L.divIcon({ className: 'tg-practice', html: '★', iconSize: [24, 24] }) })
            .bindPopup('<div class="tg-popup"><h3>' + esc(f.properties.title) + '</h3><p>' + esc(f.properties.summary || '') + '</p></div>')
            .addTo(practiceLayer);
        }
      });
    });

    // Only the activities are essential; a layer that is not built yet leaves a note in its list.
    function optional(promise, listId, what) {
      return promise.catch(function () {
        var box = listId && document.getElementById(listId);
        if (box) box.innerHTML = '<li class="tg-meta">' + what + 'はまだ公開されていません</li>';
      });
    }
    T.ready = Promise.all([
      activitiesLoaded.catch(function (err) {
        T.showError('活動のデータを読み込めませんでした。時間をおいて再度お試しください（' + err.message + '）');
        throw err;
      }),
      optional(outlinesLoaded, null, '市町村の境界'),
      optional(consultationsLoaded, 'tg-consultations', '相談窓口'),
      optional(practicesLoaded, 'tg-practices', '好事例'),
    ]);
  };
})();
