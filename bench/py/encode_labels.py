"""GDAL/OGR baseline of bench/label-encoding.ts: one round encodes one ML type's labels for a list of windows."""
import math

from osgeo import gdal, ogr

from harness import serve
from windows import window_frame

gdal.UseExceptions()
ogr.UseExceptions()


def setup(job):
    """The labels in a Memory layer with an integer class field (class index + 1, the value a mask holds)."""
    source = ogr.Open(job['labels'])
    src_layer = source.GetLayer(0)
    memory = ogr.GetDriverByName('Memory').CreateDataSource('labels')
    layer = memory.CreateLayer('labels', src_layer.GetSpatialRef(), ogr.wkbMultiPolygon)
    layer.CreateField(ogr.FieldDefn('cid', ogr.OFTInteger))
    codes = {name: i + 1 for i, name in enumerate(job['classes'])}
    for feature in src_layer:
        cid = codes.get(feature.GetField('class'))
        if cid is None:
            continue
        out = ogr.Feature(layer.GetLayerDefn())
        out.SetField('cid', cid)
        out.SetGeometry(feature.GetGeometryRef().Clone())
        layer.CreateFeature(out)
    return {'ds': memory, 'layer': layer, 'gt': job['geoTransform'], 'classes': len(job['classes'])}


def encode_round(state, job):
    encode = ENCODERS[job['mlType']]
    for w in job['windows']:
        encode(state, window_frame(state['gt'], w))


def candidates(state, frame):
    layer = state['layer']
    layer.SetSpatialFilterRect(*frame['bounds'])
    layer.ResetReading()
    return layer


def window_rect(frame):
    minx, miny, maxx, maxy = frame['bounds']
    return ogr.CreateGeometryFromWkt(f'POLYGON(({minx} {miny},{maxx} {miny},{maxx} {maxy},{minx} {maxy},{minx} {miny}))')


def mask(state, frame):
    w = frame['w']
    ds = gdal.GetDriverByName('MEM').Create('', w['width'], w['height'], 1, gdal.GDT_Byte)
    ds.SetGeoTransform(frame['gt'])
    gdal.RasterizeLayer(ds, [1], candidates(state, frame), options=['ATTRIBUTE=cid'])
    return ds.ReadAsArray()


def boxes(state, frame):
    gt = frame['gt']
    rect = window_rect(frame)
    out = [[] for _ in range(state['classes'])]
    for feature in candidates(state, frame):
        part = feature.GetGeometryRef().Intersection(rect)
        if part is None or part.IsEmpty():
            continue
        minx, maxx, miny, maxy = part.GetEnvelope()
        box = [
            math.floor((minx - gt[0]) / gt[1]),
            math.floor((maxy - gt[3]) / gt[5]),
            math.ceil((maxx - gt[0]) / gt[1]),
            math.ceil((miny - gt[3]) / gt[5]),
        ]
        if box[2] > box[0] and box[3] > box[1]:
            out[feature.GetField('cid') - 1].append(box)
    return out


def one_hot(state, frame):
    rect = window_rect(frame)
    out = [0] * state['classes']
    for feature in candidates(state, frame):
        c = feature.GetField('cid') - 1
        if not out[c] and feature.GetGeometryRef().Intersection(rect).GetArea() > 0:
            out[c] = 1
    return out


ENCODERS = {'segmentation': mask, 'object_detection': boxes, 'classification': one_hot}

serve(setup, encode_round)
