"""Checking the boundary of a growing area: a GeoJSON Polygon or MultiPolygon in WGS 84.

A Feature or a FeatureCollection with exactly one polygon feature is accepted as well, since
that is what drawing tools and geojson.io export. Messages are in Vietnamese for the form.
"""

from typing import Any

MAX_POSITIONS = 5_000


class GeoJSONError(ValueError):
    pass


def clean_boundary(data: Any) -> dict:
    """Return the geometry as {"type": …, "coordinates": …} or raise GeoJSONError."""
    geometry = _geometry_of(data)
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeoJSONError("MultiPolygon phải có ít nhất một vùng.")
        polygons = coordinates
    else:
        raise GeoJSONError("Ranh giới phải là Polygon hoặc MultiPolygon.")
    positions = 0
    for polygon in polygons:
        positions += _check_polygon(polygon)
    if positions > MAX_POSITIONS:
        raise GeoJSONError(f"Ranh giới quá chi tiết (tối đa {MAX_POSITIONS} điểm).")
    return {"type": kind, "coordinates": coordinates}


def _geometry_of(data: Any) -> dict:
    if not isinstance(data, dict):
        raise GeoJSONError("Ranh giới phải là một đối tượng GeoJSON.")
    if data.get("type") == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or len(features) != 1:
            raise GeoJSONError("FeatureCollection phải chứa đúng một vùng.")
        data = features[0]
    if data.get("type") == "Feature":
        data = data.get("geometry")
        if not isinstance(data, dict):
            raise GeoJSONError("Feature không có hình (geometry).")
    return data


def _check_polygon(polygon: Any) -> int:
    if not isinstance(polygon, list) or not polygon:
        raise GeoJSONError("Mỗi vùng phải là danh sách các vòng toạ độ.")
    positions = 0
    for ring in polygon:
        if not isinstance(ring, list) or len(ring) < 4:
            raise GeoJSONError("Mỗi vòng ranh giới cần ít nhất 4 điểm (điểm cuối trùng điểm đầu).")
        for position in ring:
            _check_position(position)
        if ring[0][:2] != ring[-1][:2]:
            raise GeoJSONError("Vòng ranh giới chưa khép kín: điểm cuối phải trùng điểm đầu.")
        positions += len(ring)
    return positions


def _check_position(position: Any) -> None:
    valid_shape = (
        isinstance(position, list)
        and len(position) in (2, 3)
        and all(isinstance(n, int | float) and not isinstance(n, bool) for n in position)
    )
    if not valid_shape:
        raise GeoJSONError("Toạ độ phải là cặp số [kinh độ, vĩ độ].")
    longitude, latitude = position[0], position[1]
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise GeoJSONError(
            f"Toạ độ [{longitude}, {latitude}] nằm ngoài phạm vi; GeoJSON ghi kinh độ trước, "
            "vĩ độ sau."
        )
