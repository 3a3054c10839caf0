// Draw a growing area's boundary on a map (Leaflet + Leaflet.draw, served from our static
// files). The drawing is written as GeoJSON into the boundary field, which stays editable by
// hand: pasting GeoJSON there redraws the map. Without JavaScript the field alone still works.
(function () {
  "use strict";
  var box = document.getElementById("area-map");
  var field = document.querySelector("textarea[name=boundary]");
  if (!box || !field || !window.L || !L.Control.Draw) return;

  L.drawLocal.draw.toolbar.buttons.polygon = "Vẽ ranh giới vùng trồng";
  L.drawLocal.draw.toolbar.actions.text = "Huỷ";
  L.drawLocal.draw.toolbar.finish.text = "Xong";
  L.drawLocal.draw.toolbar.undo.text = "Xoá điểm cuối";
  L.drawLocal.draw.handlers.polygon.tooltip.start = "Bấm để đặt điểm đầu tiên";
  L.drawLocal.draw.handlers.polygon.tooltip.cont = "Bấm để đặt điểm tiếp theo";
  L.drawLocal.draw.handlers.polygon.tooltip.end = "Bấm vào điểm đầu để khép vùng";
  L.drawLocal.edit.toolbar.buttons.edit = "Sửa ranh giới";
  L.drawLocal.edit.toolbar.buttons.remove = "Xoá ranh giới";

  var map = L.map(box).setView(JSON.parse(box.dataset.center), 13);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution }).addTo(map);
  }
  var drawn = new L.FeatureGroup().addTo(map);

  function showField() {
    drawn.clearLayers();
    try {
      L.geoJSON(JSON.parse(field.value)).eachLayer(function (layer) { drawn.addLayer(layer); });
    } catch (error) {
      return; // not GeoJSON (yet): the server says what is wrong when the form is sent
    }
    if (drawn.getLayers().length) map.fitBounds(drawn.getBounds(), { maxZoom: 17 });
  }

  function writeField() {
    var rings = [];
    drawn.eachLayer(function (layer) {
      var geometry = layer.toGeoJSON().geometry;
      if (geometry.type === "Polygon") rings.push(geometry.coordinates);
      if (geometry.type === "MultiPolygon") rings = rings.concat(geometry.coordinates);
    });
    if (!rings.length) field.value = "";
    else if (rings.length === 1) field.value = JSON.stringify({ type: "Polygon", coordinates: rings[0] });
    else field.value = JSON.stringify({ type: "MultiPolygon", coordinates: rings });
  }

  map.addControl(new L.Control.Draw({
    draw: {
      polygon: { allowIntersection: false, showArea: true, metric: true },
      polyline: false, rectangle: false, circle: false, marker: false, circlemarker: false
    },
    edit: { featureGroup: drawn }
  }));
  map.on(L.Draw.Event.CREATED, function (event) { drawn.addLayer(event.layer); writeField(); });
  map.on(L.Draw.Event.EDITED, writeField);
  map.on(L.Draw.Event.DELETED, writeField);
  field.addEventListener("change", showField);
  if (field.value.trim()) showField();
})();
