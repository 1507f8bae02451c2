#!/usr/bin/env python3
"""Writes daemon/web/belize.json, the outline the review page's map draws
(issue 20, item 5), from Natural Earth's 1:10m admin-0 boundaries as the
npm package world-atlas redistributes them (countries-10m.json, TopoJSON;
Natural Earth is in the public domain).  Run by hand when the outline
should change; the build only embeds its output:

    npm pack world-atlas && tar xzf world-atlas-*.tgz
    daemon/web/make-outline.py package/countries-10m.json > daemon/web/belize.json

Keeps Belize (ISO 3166 numeric 084) whole and the parts of Mexico and
Guatemala inside a box around it, for context, simplified (Douglas-Peucker,
0.004 degrees, about 400 m) and rounded to 3 decimals: a few kilobytes.
District boundaries are not in Natural Earth's admin-0 data; the page
writes the six districts' names at their approximate centres instead.
"""
import json
import sys

BOX = (-89.6, 15.7, -87.3, 18.7)  # lon0, lat0, lon1, lat1
TOLERANCE = 0.004
DISTRICTS = [  # approximate centres of the six districts (lon, lat)
    ("Corozal", -88.45, 18.25), ("Orange Walk", -88.85, 17.85), ("Belize", -88.45, 17.45),
    ("Cayo", -88.95, 17.0), ("Stann Creek", -88.45, 16.8), ("Toledo", -88.95, 16.3)]


def decode_arcs(topo):
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring(arcs, refs):
    pts = []
    for r in refs:
        a = arcs[r] if r >= 0 else list(reversed(arcs[~r]))
        pts.extend(a if not pts else a[1:])
    return pts


def polygons(arcs, geom):
    polys = [geom["arcs"]] if geom["type"] == "Polygon" else geom["arcs"]
    return [[ring(arcs, r) for r in poly] for poly in polys]


def simplify(pts, tol):
    if len(pts) < 3:
        return pts
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    dx, dy = x1 - x0, y1 - y0
    n = (dx * dx + dy * dy) ** 0.5
    best, idx = -1.0, 0
    for i in range(1, len(pts) - 1):
        px, py = pts[i]
        d = abs(dy * px - dx * py + x1 * y0 - y1 * x0) / n if n else ((px - x0) ** 2 + (py - y0) ** 2) ** 0.5
        if d > best:
            best, idx = d, i
    if best <= tol:
        return [pts[0], pts[-1]]
    return simplify(pts[: idx + 1], tol)[:-1] + simplify(pts[idx:], tol)


def inside(p):
    return BOX[0] <= p[0] <= BOX[2] and BOX[1] <= p[1] <= BOX[3]


def clip(pts):
    """Sutherland-Hodgman: the part of the ring inside BOX."""
    def cut(pts, keep, cross):
        out = []
        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if keep(cur):
                if not keep(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif keep(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(x):
        return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))

    def at_y(y):
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)

    for keep, cross in ((lambda p: p[0] >= BOX[0], at_x(BOX[0])), (lambda p: p[0] <= BOX[2], at_x(BOX[2])),
                        (lambda p: p[1] >= BOX[1], at_y(BOX[1])), (lambda p: p[1] <= BOX[3], at_y(BOX[3]))):
        pts = cut(pts, keep, cross)
        if not pts:
            break
    return pts


def main():
    topo = json.load(open(sys.argv[1]))
    arcs = decode_arcs(topo)
    out = {"source": "Natural Earth 1:10m admin 0 (public domain), via the npm package world-atlas; "
                     "simplified by daemon/web/make-outline.py",
           "box": BOX, "belize": [], "neighbours": [],
           "districts": [{"name": n, "lon": x, "lat": y} for n, x, y in DISTRICTS]}
    for g in topo["objects"]["countries"]["geometries"]:
        if g.get("id") not in ("084", "484", "320"):
            continue
        for poly in polygons(arcs, g):
            outer = poly[0] if g["id"] == "084" else clip(poly[0])
            if not outer or not any(inside(p) for p in outer):
                continue
            pts = simplify(outer, TOLERANCE)
            if len(pts) < 4:
                continue
            line = [[round(x, 3), round(y, 3)] for x, y in pts]
            (out["belize"] if g["id"] == "084" else out["neighbours"]).append(line)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
