// The child places of the dashboard on a map (Leaflet from django-leaflet's static files), each
// with its value for the chosen indicator, green when it meets its target, red when not, grey
// when there is no target or no figure. Tiles only when the operator configured a tile server;
// otherwise the points sit on the plain grid of the box. The ranking table says the same.
(function () {
  "use strict";
  var box = document.getElementById("indicator-map");
  var script = document.getElementById("map-data");
  if (!box || !script || !window.L) return;
  var points = JSON.parse(script.textContent);
  if (!points.length) return;
  var map = L.map(box, { attributionControl: !!box.dataset.tiles });
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
  }
  var bounds = [];
  points.forEach(function (point) {
    var colour = point.met === true ? "#0b6e4f" : point.met === false ? "#b3261e" : "#8a9690";
    var marker = L.circleMarker(point.at, {
      radius: 10, weight: 2, color: "#fff", fillColor: colour, fillOpacity: 0.9
    }).addTo(map);
    marker.bindTooltip(point.name + ": " + point.value, { permanent: true, direction: "top" });
    var link = document.createElement("a");
    link.href = point.url;
    link.textContent = point.name;
    marker.bindPopup(link);
    bounds.push(point.at);
  });
  map.fitBounds(L.latLngBounds(bounds).pad(0.3), { maxZoom: 15 });
})();
