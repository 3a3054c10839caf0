// Cameras and incidents on a map (Leaflet from django-leaflet's static files). The markers come
// from the JSON the page (or its live fragment) carries in #map-data; after each live update
// the map redraws. Tiles only when the operator configured a tile server: otherwise the
// markers sit on the plain grid of the map box. Without JavaScript the lists still work.
(function () {
  "use strict";
  var box = document.getElementById("safety-map");
  if (!box || !window.L) return;
  var CAMERA = { online: "#0b6e4f", offline: "#b3261e", unknown: "#8a9690" };
  var SEVERITY = { low: "#8a9690", medium: "#d9a400", high: "#e0661b", critical: "#b3261e" };
  var map = L.map(box, { attributionControl: !!box.dataset.tiles }).setView(JSON.parse(box.dataset.center), 13);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
  }
  var layer = L.layerGroup().addTo(map);
  var fitted = false;

  function link(marker, item) {
    var a = document.createElement("a");
    a.href = item.url;
    a.textContent = item.name;
    var div = document.createElement("div");
    div.appendChild(a);
    div.appendChild(document.createElement("br"));
    div.appendChild(document.createTextNode(item.status_label || ""));
    marker.bindPopup(div);
    return marker;
  }

  function draw() {
    var script = document.getElementById("map-data");
    if (!script) return;
    var data = JSON.parse(script.textContent);
    layer.clearLayers();
    var points = [];
    (data.cameras || []).forEach(function (camera) {
      var marker = L.circleMarker(camera.at, {
        radius: 8, weight: camera.black_spot ? 4 : 2, color: camera.black_spot ? "#000" : "#fff",
        fillColor: CAMERA[camera.status] || CAMERA.unknown, fillOpacity: 0.9
      });
      layer.addLayer(link(marker, camera));
      points.push(camera.at);
    });
    (data.incidents || []).forEach(function (incident) {
      var marker = L.circleMarker(incident.at, {
        radius: 11, weight: 3, color: SEVERITY[incident.severity] || SEVERITY.medium,
        fillColor: "#fff", fillOpacity: 0.6, className: "incident-marker"
      });
      layer.addLayer(link(marker, incident));
      points.push(incident.at);
    });
    if (!fitted && points.length) {
      map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 16 });
      fitted = true;
    }
  }

  draw();
  document.body.addEventListener("htmx:afterSettle", draw);
})();
