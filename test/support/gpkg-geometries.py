"""
GeoPackages of every geometry kind a label layer may hold, written by OGR, and what OGR reads back from them in
veda's terms (per feature: polygons as closed flat [x0, y0, ...] rings, or "empty", or "unsupported").
Usage: gpkg-geometries.py DIR -> DIR/{iso-ndr,iso-xdr,ewkb}.gpkg, expected JSON on stdout. The first file is OGR's
own (ISO WKB, little-endian); the others hold the same geometries re-encoded by OGR as big-endian ISO WKB and as
old-style (2.5D flag) little-endian WKB with an EWKB SRID, as other writers store them.
"""
import json, shutil, sqlite3, struct, sys
from osgeo import ogr, osr

ogr.UseExceptions()
out = sys.argv[1]
WKTS = [
    'POLYGON ((0 0,10 0,10 10,0 10,0 0),(2 2,2 4,4 4,4 2,2 2))',
    'MULTIPOLYGON (((0 0,1 0,1 1,0 0)),((5 5,6 5.5,6.25 7.125,5 5)))',
    'POLYGON Z ((0 0 1,3 0 2,3 3 3,0 0 1))',
    'POLYGON M ((0 0 1,3 0 2,3 3 3,0 0 1))',
    'MULTIPOLYGON ZM (((288776.25 9120760.75 1 2,288800.5 9120760.75 1 2,288800.5 9120700.1 1 2,288776.25 9120760.75 1 2)))',
    'POLYGON ((0 0,4 0,4 4,0 4))',
    'POLYGON EMPTY',
    'MULTIPOLYGON EMPTY',
    'POINT (1 2)',
    'LINESTRING (0 0,1 1)',
    'GEOMETRYCOLLECTION (POLYGON ((0 0,1 0,1 1,0 0)))',
    'CURVEPOLYGON (CIRCULARSTRING (0 0,1 1,2 0,1 -1,0 0))',
    None,
]

iso = f'{out}/iso-ndr.gpkg'
ds = ogr.GetDriverByName('GPKG').CreateDataSource(iso)
srs = osr.SpatialReference()
srs.ImportFromEPSG(31985)
layer = ds.CreateLayer('shapes', srs, ogr.wkbUnknown)
layer.CreateField(ogr.FieldDefn('class', ogr.OFTString))
for wkt in WKTS:
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField('class', 'water')
    if wkt:
        feature.SetGeometryDirectly(ogr.CreateGeometryFromWkt(wkt))
    layer.CreateFeature(feature)
ds = None


def ewkb(geometry):
    wkb = geometry.ExportToWkb(ogr.wkbNDR)
    (code,) = struct.unpack('<I', wkb[1:5])
    return wkb[:1] + struct.pack('<Ii', code | 0x20000000, 31985) + wkb[5:]


for name, encode in [('iso-xdr', lambda g: g.ExportToIsoWkb(ogr.wkbXDR)), ('ewkb', ewkb)]:
    copy = f'{out}/{name}.gpkg'
    shutil.copy(iso, copy)
    db = sqlite3.connect(copy)
    # The R-tree's triggers call SpatiaLite functions Python's sqlite3 lacks; the index is not used here.
    for (trigger,) in db.execute("select name from sqlite_master where type = 'trigger'").fetchall():
        db.execute(f'drop trigger "{trigger}"')
    for fid, blob in db.execute('select fid, geom from shapes where geom is not null').fetchall():
        if blob[3] & 0x10:
            continue  # the empty flag: no WKB needed
        header = 8 + [0, 32, 48, 48, 64][(blob[3] >> 1) & 7]
        geometry = ogr.CreateGeometryFromWkb(bytes(blob[header:]))
        db.execute('update shapes set geom = ? where fid = ?', (bytes(blob[:header]) + encode(geometry), fid))
    db.commit()
    db.close()


def rings(polygon):
    out = []
    for i in range(polygon.GetGeometryCount()):
        ring = polygon.GetGeometryRef(i)
        flat = [c for k in range(ring.GetPointCount()) for c in ring.GetPoint_2D(k)]
        if flat[:2] != flat[-2:]:
            flat += flat[:2]
        out.append(flat)
    return out


expected = []
source = ogr.Open(iso)  # held: a layer outlived by its dataset crashes GDAL's Python bindings
for feature in source.GetLayer(0):
    g = feature.GetGeometryRef()
    kind = ogr.GT_Flatten(g.GetGeometryType()) if g is not None else None
    if g is None or g.IsEmpty():
        expected.append('empty')
    elif kind == ogr.wkbPolygon:
        expected.append([rings(g)])
    elif kind == ogr.wkbMultiPolygon:
        expected.append([rings(g.GetGeometryRef(i)) for i in range(g.GetGeometryCount())])
    else:
        expected.append('unsupported')
print(json.dumps(expected))
