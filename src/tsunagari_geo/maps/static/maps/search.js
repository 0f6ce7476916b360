/* The static site's address search: tables generated from the Python geocoder, applied here.
 *
 * No rule of its own: the index (data/towns.json, written by tsunagari_geo.maps.search_index)
 * holds the folding of characters as tables and, for every written form of a municipality or
 * town, what the Python geocoder answers for it. This script folds the text by those tables
 * and finds the longest key that starts it, then the longest in the table that key leads to.
 * The same file runs in the page (Tsunagari.search) and in node (require), for the tests. */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else (root.Tsunagari = root.Tsunagari || {}).search = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';
  // The index's format (tsunagari_geo.maps.search_index: VERSION, MUNICIPALITY, DELETED).
  var VERSION = 1;
  var MUNICIPALITY = -1; // an answer: what the municipality written first answers alone
  var DELETED = -3; // an answer: the key is not in this table, though in its base

  function inRanges(ranges, c) {
    if (c === undefined) return false;
    var cp = c.charCodeAt(0);
    var lo = 0;
    var hi = ranges.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (cp < ranges[mid][0]) hi = mid - 1;
      else if (cp > ranges[mid][1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  // The Python folding (normalize_address + fold), as the index's tables say.
  function fold(f, text) {
    var s = String(text === null || text === undefined ? '' : text);
    var chars = [];
    var i = 0;
    while (i < s.length) {
      var pair = s.substr(i, 2);
      var out = pair.length === 2 ? f.chars[pair] : undefined;
      if (out !== undefined) {
        i += 2;
      } else {
        out = f.chars[s.charAt(i)];
        if (out === undefined) out = s.charAt(i);
        i += 1;
      }
      for (var k = 0; k < out.length; k++) chars.push(out.charAt(k));
    }
    for (var r = 1; r < chars.length; r++) {
      if (f.repeat.indexOf(chars[r]) >= 0 && inRanges(f.repeatable, chars[r - 1])) chars[r] = chars[r - 1];
    }
    var folded = chars.slice();
    for (var j = 1; j < chars.length - 1; j++) {
      var c = chars[j];
      if (f.between_kanji[c] !== undefined && inRanges(f.kanji_before, chars[j - 1]) && inRanges(f.kanji_after, chars[j + 1])) {
        folded[j] = f.between_kanji[c];
      } else if (f.between_digits[c] !== undefined && inRanges(f.digits, chars[j - 1]) && inRanges(f.digits, chars[j + 1])) {
        folded[j] = f.between_digits[c];
      }
    }
    return folded.join('');
  }

  function decodeTables(encoded) {
    var tables = [];
    encoded.forEach(function (t) {
      var map = t.base === undefined ? new Map() : new Map(tables[t.base].map);
      var previous = '';
      t.entries.forEach(function (e) {
        var key = previous.slice(0, e[0]) + e[1];
        if (e[2] === DELETED) map.delete(key);
        else map.set(key, { answer: e[2], next: e.length > 3 ? e[3] : null });
        previous = key;
      });
      var lengths = {};
      map.forEach(function (_, key) {
        lengths[key.length] = true;
      });
      tables.push({
        map: map,
        lengths: Object.keys(lengths)
          .map(Number)
          .sort(function (a, b) {
            return b - a;
          }),
      });
    });
    return tables;
  }

  function longest(table, key, at) {
    for (var n = 0; n < table.lengths.length; n++) {
      var length = table.lengths[n];
      if (length > key.length - at || length === 0) continue;
      var hit = table.map.get(key.substr(at, length));
      if (hit) return { answer: hit.answer, next: hit.next, end: at + length };
    }
    return null;
  }

  /* A searcher over one index: search(text) → null, or {level, code, city, town, lat, lng}
   * (level 3 town, 2 municipality) or {level: 1, outside: true, pref} for another prefecture. */
  function Searcher(index) {
    // An index written for another version of this script (a stale copy in a cache, say).
    if (!index || index.version !== VERSION) throw new Error('search index version ' + (index && index.version) + ' (expected ' + VERSION + ')');
    this.index = index;
    this.tables = decodeTables(index.tables);
  }
  Searcher.prototype.fold = function (text) {
    return fold(this.index.fold, text);
  };
  Searcher.prototype.search = function (text) {
    var key = this.fold(text) + this.index.end;
    var table = 0;
    var at = 0;
    var answer = null;
    var municipality = null;
    while (table !== null) {
      var hit = longest(this.tables[table], key, at);
      if (!hit) break;
      answer = hit.answer === MUNICIPALITY ? municipality : hit.answer;
      if (table === 0) municipality = answer;
      at = hit.end;
      table = hit.next;
    }
    return answer === null ? null : this.answer(answer);
  };
  Searcher.prototype.answer = function (position) {
    var a = this.index.answers[position];
    if (!a.length) return null;
    if (a[0] < 0) return { level: 1, outside: true, pref: a[1] };
    var unit = this.index.units[a[0]];
    if (a.length === 1) return { level: 2, code: unit[0], city: unit[1], town: '', lat: unit[2], lng: unit[3] };
    return { level: 3, code: unit[0], city: unit[1], town: a[1], lat: a[2], lng: a[3] };
  };

  return {
    Searcher: Searcher,
    load: async function (url) {
      var response = await fetch(url);
      if (!response.ok) throw new Error(url + ' → HTTP ' + response.status);
      return new Searcher(await response.json());
    },
  };
});
