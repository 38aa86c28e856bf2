// coterminosity map script: layers, legend, search, labels, one click report, resize handling.
// Text reaches the page only through textContent and DOM nodes (never innerHTML with data), and no
// inline style attributes are written, so the map runs under a Content-Security-Policy without
// 'unsafe-inline'. `L` is the Leaflet this script was given (never the host page's own copy).

function cotermEscape(text) {
  return String(text).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
  });
}

function cotermEl(tag, className, text) {
  var el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined && text !== null) el.textContent = String(text);
  return el;
}

function cotermTable(labels, values) {
  var table = cotermEl('table', 'coterm-detail');
  for (var i = 0; i < labels.length; i++) {
    if (values[i] === null || values[i] === undefined || values[i] === '') continue;
    var row = table.insertRow();
    row.appendChild(cotermEl('th', null, labels[i]));
    row.insertCell().textContent = String(values[i]);
  }
  return table;
}

function cotermDetail(heading, labels, values) {
  var div = cotermEl('div', 'coterm-section');
  div.appendChild(cotermEl('div', 'coterm-heading', heading));
  div.appendChild(cotermTable(labels, values));
  return div;
}

var COTERM_SVG = 'http://www.w3.org/2000/svg';

function cotermSvg(tag, attrs) {
  var el = document.createElementNS(COTERM_SVG, tag);
  for (var k in attrs) el.setAttribute(k, attrs[k]);
  return el;
}

function cotermPatterns(container, patterns) {
  // SVG fill patterns (stripes, dots) as <pattern> elements; paths fill them with url(#id).
  if (!patterns) return;
  var svg = cotermSvg('svg', {width: 0, height: 0, 'aria-hidden': 'true', 'class': 'coterm-defs'});
  var defs = cotermSvg('defs', {});
  svg.appendChild(defs);
  for (var id in patterns) {
    if (document.getElementById(id)) continue;
    var p = patterns[id];
    var pattern = cotermSvg('pattern', {id: id, patternUnits: 'userSpaceOnUse', width: p.size, height: p.size});
    if (p.rotate) pattern.setAttribute('patternTransform', 'rotate(' + p.rotate + ')');
    if (p.background) pattern.appendChild(cotermSvg('rect', {width: p.size, height: p.size, fill: p.background}));
    if (p.kind === 'stripes') {
      pattern.appendChild(cotermSvg('rect', {width: p.width, height: p.size, fill: p.color}));
    } else if (p.kind === 'dots') {
      pattern.appendChild(cotermSvg('circle', {cx: p.size / 2, cy: p.size / 2, r: p.width, fill: p.color}));
    } else if (p.kind === 'cross') {
      pattern.appendChild(cotermSvg('path', {d: 'M0 0L' + p.size + ' ' + p.size + 'M' + p.size + ' 0L0 ' + p.size,
                                             stroke: p.color, 'stroke-width': p.width}));
    }
    defs.appendChild(pattern);
  }
  container.appendChild(svg);
}

function cotermRings(geometry) {
  // Polygons of a GeoJSON geometry as lists of rings ([lon, lat] points).
  if (geometry.type === 'Polygon') return [geometry.coordinates];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates;
  return [];
}

function cotermInRing(x, y, ring) {
  var inside = false;
  for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function cotermNear(map, geometry, latlng, radius) {
  // A point feature is "at" the click when the click falls on its circle (plus 3 pixels).
  var p = geometry.coordinates;
  var a = map.latLngToContainerPoint(latlng), b = map.latLngToContainerPoint(L.latLng(p[1], p[0]));
  return a.distanceTo(b) <= (radius || 5) + 3;
}

function cotermContains(geometry, latlng) {
  var polys = cotermRings(geometry);
  for (var p = 0; p < polys.length; p++) {
    if (!cotermInRing(latlng.lng, latlng.lat, polys[p][0])) continue;
    var hole = false;
    for (var h = 1; h < polys[p].length; h++) {
      if (cotermInRing(latlng.lng, latlng.lat, polys[p][h])) { hole = true; break; }
    }
    if (!hole) return true;
  }
  return false;
}

function cotermLayer(map, data, o) {
  // One GeoJSON layer in its own pane; hover shows the heading only (o.hover); clicks go to the map.
  if (!map.getPane(o.pane)) {
    var pane = map.createPane(o.pane);
    pane.style.zIndex = o.z;
    pane.style.pointerEvents = 'none';
  }
  var group = L.featureGroup();
  if (o.halo) {
    var haloPane = o.pane + '-halo';
    if (!map.getPane(haloPane)) {
      map.createPane(haloPane).style.zIndex = o.z - 1;
      map.getPane(haloPane).style.pointerEvents = 'none';
    }
    group.addLayer(L.geoJSON(data, {pane: haloPane, interactive: false, style: function () { return o.halo; }}));
  }
  var features = [];
  var geo = L.geoJSON(data, {
    pane: o.pane,
    interactive: o.interactive,
    style: function (f) { return o.styles[f.properties.s]; },
    pointToLayer: function (f, latlng) {
      return L.circleMarker(latlng, L.extend({pane: o.pane, interactive: o.interactive}, o.styles[f.properties.s]));
    },
    onEachFeature: function (f, l) {
      var p = f.properties;
      features.push({feature: f, layer: l});
      if (o.hover) {
        l.bindTooltip(function () { return cotermEl('div', 'coterm-heading', p.h); },
                      {sticky: true, className: 'coterm-tooltip', direction: 'top', offset: [0, -6]});
      }
      if (o.interactive) {
        l.on('mouseover', function () { l.setStyle({weight: (o.styles[p.s].weight || 1) + 2}); });
        l.on('mouseout', function () { l.setStyle(o.styles[p.s]); });
      }
    }
  });
  group.addLayer(geo);
  group.cotermOptions = o;
  group.cotermFeatures = features;
  group.cotermLabel = o.label;
  group.cotermPane = o.pane;
  (map.cotermLayers = map.cotermLayers || []).push(group);
  if (o.show) group.addTo(map);
  return group;
}

function cotermReport(map, latlng) {
  // Everything drawn at one point, every visible layer, in one popup.
  var box = cotermEl('div', 'coterm-report');
  var found = 0;
  (map.cotermLayers || []).forEach(function (group) {
    var o = group.cotermOptions;
    if (!o.report || !map.hasLayer(group)) return;
    group.cotermFeatures.forEach(function (item) {
      var g = item.feature.geometry;
      if (g.type === 'Point') {
        if (!cotermNear(map, g, latlng, o.styles[item.feature.properties.s].radius)) return;
      } else if (!item.layer.getBounds().contains(latlng) || !cotermContains(g, latlng)) {
        return;
      }
      var p = item.feature.properties;
      var section = cotermDetail(p.h, o.popup, p.p);
      section.insertBefore(cotermEl('div', 'coterm-kind', o.label), section.firstChild);
      box.appendChild(section);
      found += 1;
    });
  });
  if (!found) return null;
  return L.popup({maxWidth: 420, maxHeight: 360, autoPanPadding: [20, 20], className: 'coterm-popup'})
    .setLatLng(latlng).setContent(box).openOn(map);
}

function cotermSwatch(entry) {
  var svg = cotermSvg('svg', {width: 22, height: 14, 'class': 'coterm-swatch', 'aria-hidden': 'true'});
  if (entry.fill) {
    svg.appendChild(cotermSvg('rect', {x: 1, y: 1, width: 20, height: 12, fill: entry.fill,
                                       'fill-opacity': entry.opacity === undefined ? 1 : entry.opacity,
                                       stroke: entry.stroke || 'none', 'stroke-width': entry.weight || 1,
                                       'stroke-dasharray': entry.dash || 'none'}));
  } else {
    if (entry.halo) svg.appendChild(cotermSvg('line', {x1: 1, y1: 7, x2: 21, y2: 7, stroke: entry.halo,
                                                       'stroke-width': (entry.weight || 1) + 3}));
    svg.appendChild(cotermSvg('line', {x1: 1, y1: 7, x2: 21, y2: 7, stroke: entry.stroke || '#333',
                                       'stroke-width': entry.weight || 1, 'stroke-dasharray': entry.dash || 'none'}));
  }
  return svg;
}

function cotermControl(map, position, className, build) {
  var control = L.control({position: position});
  control.onAdd = function () {
    var div = L.DomUtil.create('div', className);
    build(div);
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  return control.addTo(map);
}

function cotermLegend(map, legend, collapsed) {
  // The legend; its heading is a button that folds it away (folded from the start on small maps).
  return cotermControl(map, 'bottomright', 'coterm-box coterm-legend', function (div) {
    var head = cotermEl('button', 'coterm-legend-toggle', legend.title);
    head.type = 'button';
    var body = cotermEl('div', 'coterm-legend-body');
    function set(folded) {
      div.classList.toggle('coterm-folded', folded);
      head.setAttribute('aria-expanded', folded ? 'false' : 'true');
    }
    head.addEventListener('click', function (e) { L.DomEvent.stop(e); set(!div.classList.contains('coterm-folded')); });
    div.appendChild(head);
    div.appendChild(body);
    legend.entries.forEach(function (entry) {
      var line = cotermEl('div', 'coterm-entry');
      line.appendChild(cotermSwatch(entry));
      line.appendChild(cotermEl('span', null, entry.label));
      body.appendChild(line);
    });
    legend.notes.forEach(function (note) { body.appendChild(cotermEl('p', 'coterm-note', note)); });
    set(!!collapsed);
  });
}

function cotermSearch(map, spec) {
  return cotermControl(map, 'topleft', 'coterm-box coterm-search', function (div) {
    var input = cotermEl('input', 'coterm-search-input');
    input.type = 'search';
    input.placeholder = spec.placeholder;
    input.setAttribute('aria-label', spec.placeholder);
    var list = cotermEl('ul', 'coterm-search-results');
    div.appendChild(input);
    div.appendChild(list);
    function candidates() {
      var out = [];
      (map.cotermLayers || []).forEach(function (group) {
        if (!group.cotermOptions.search) return;
        group.cotermFeatures.forEach(function (item) {
          out.push({text: item.feature.properties.h, kind: group.cotermOptions.label, item: item, group: group});
        });
      });
      return out;
    }
    function go(hit) {
      if (!map.hasLayer(hit.group)) hit.group.addTo(map);
      var bounds = hit.item.layer.getBounds ? hit.item.layer.getBounds()
        : L.latLngBounds([hit.item.layer.getLatLng(), hit.item.layer.getLatLng()]).pad(0.05);
      map.fitBounds(bounds, {maxZoom: map.getMaxZoom(), padding: [30, 30]});
      var p = hit.item.feature.properties;
      var at = p.lp ? L.latLng(p.lp[0], p.lp[1]) : bounds.getCenter();
      cotermReport(map, at);
      list.textContent = '';
    }
    var hits = [];
    input.addEventListener('input', function () {
      var q = input.value.trim().toLowerCase();
      list.textContent = '';
      hits = [];
      if (!q) return;
      hits = candidates().filter(function (c) { return c.text.toLowerCase().indexOf(q) >= 0; }).slice(0, 8);
      hits.forEach(function (hit) {
        var li = cotermEl('li');
        var button = cotermEl('button', 'coterm-search-hit', hit.text);
        button.type = 'button';
        button.appendChild(cotermEl('span', 'coterm-search-kind', hit.kind));
        button.addEventListener('click', function (e) { L.DomEvent.stop(e); go(hit); });
        li.appendChild(button);
        list.appendChild(li);
      });
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && hits.length) { L.DomEvent.stop(e); go(hits[0]); }
    });
  });
}

function cotermLabels(map, group, minZoom) {
  // Footprint names at their label points, shown when the footprint is wide enough on screen.
  if (!map.getPane('coterm-labels')) {
    map.createPane('coterm-labels').style.zIndex = 640;
    map.getPane('coterm-labels').style.pointerEvents = 'none';
  }
  var labels = L.layerGroup();
  var items = [];
  group.cotermFeatures.forEach(function (item) {
    var p = item.feature.properties;
    if (!p.lp) return;
    var span = cotermEl('span', null, p.n || p.h);
    var marker = L.marker(L.latLng(p.lp[0], p.lp[1]), {
      pane: 'coterm-labels', interactive: false, keyboard: false,
      icon: L.divIcon({className: 'coterm-label', html: span, iconSize: null})
    });
    items.push({marker: marker, bounds: item.layer.getBounds(), width: (p.n || p.h).length * 6.5});
  });
  function update() {
    var zoom = map.getZoom();
    items.forEach(function (it) {
      var a = map.project(it.bounds.getNorthWest(), zoom), b = map.project(it.bounds.getSouthEast(), zoom);
      var wide = zoom >= minZoom && Math.abs(b.x - a.x) > Math.min(it.width, 160) && Math.abs(b.y - a.y) > 14;
      if (wide && !labels.hasLayer(it.marker)) labels.addLayer(it.marker);
      if (!wide && labels.hasLayer(it.marker)) labels.removeLayer(it.marker);
    });
  }
  map.on('zoomend', update);
  labels.cotermUpdate = update;
  return labels;
}

function cotermSetup(map, spec, id) {
  // Everything around the layers: title, legend, search, labels, layer control, one click report,
  // the view, and a handle (window.cotermMaps[id]) for the host page.
  var container = map.getContainer();
  var root = container.closest ? container.closest('.coterm-map') : null;
  if (!root) { root = container.parentNode; root.classList.add('coterm-map'); }
  cotermPatterns(root, spec.patterns);
  map.setMaxZoom(spec.maxZoom);
  if (spec.title) {
    cotermControl(map, 'topleft', 'coterm-box coterm-title', function (div) { div.textContent = spec.title; });
  }
  if (spec.search) cotermSearch(map, spec.search);
  var small = container.clientWidth < (spec.collapseBelow || 640) || container.clientHeight < 640;
  cotermLegend(map, spec.legend, small);
  var overlays = {};
  (map.cotermLayers || []).forEach(function (group) {
    if (group.cotermOptions.control) overlays[cotermEscape(group.cotermOptions.label)] = group;
  });
  var labels = null;
  (map.cotermLayers || []).forEach(function (group) {
    if (group.cotermOptions.labels && !labels) {
      labels = cotermLabels(map, group, spec.labelZoom || 0);
      labels.addTo(map);
      overlays[cotermEscape(spec.labelName)] = labels;
    }
  });
  L.control.layers(null, overlays, {collapsed: small, position: 'topright'}).addTo(map);
  map.on('click', function (e) { cotermReport(map, e.latlng); });
  var bounds = L.latLngBounds(spec.bounds);
  var fitted = false;
  function fit() {
    if (container.clientWidth > 0 && container.clientHeight > 0) {
      map.invalidateSize(false);
      map.fitBounds(bounds, {padding: [10, 10]});
      fitted = true;
      if (labels) labels.cotermUpdate();
    }
  }
  fit();
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(function () {
      if (!fitted) fit(); else map.invalidateSize(false);
    }).observe(container);
  }
  window.addEventListener('beforeprint', function () { map.invalidateSize(false); map.fitBounds(bounds); });
  window.cotermMaps = window.cotermMaps || {};
  var key = id || spec.id || 'map';
  for (var n = 2; window.cotermMaps[key] && window.cotermMaps[key].map !== map; n++) key = (id || spec.id) + '-' + n;
  root.setAttribute('data-coterm-handle', key);
  window.cotermMaps[key] = {map: map, layers: map.cotermLayers || [], container: root, leaflet: L,
                            report: function (lat, lng) { return cotermReport(map, L.latLng(lat, lng)); },
                            refresh: function () { if (!fitted) fit(); else map.invalidateSize(false); }};
  return window.cotermMaps[key];
}
