"""GDAL + h5py baseline of bench/end-to-end.ts: a round turns its windows into one HDF5 file, in one process.

Per window: read all bands (ReadAsArray), burn the mask with one RasterizeLayer pass over the GeoPackage layer
filtered to the window (OGR uses the R-tree), store both; images (N, bands, h, w) and masks (N, h, w) are chunked
one sample per chunk, as veda's batch is. The file is fsynced, as veda's atomic rename needs.
"""
import os

import h5py
import numpy as np
from osgeo import gdal, ogr

from harness import serve
from windows import window_frame

gdal.UseExceptions()
ogr.UseExceptions()


def write_round(job, round_):
    image = gdal.Open(job['image'])
    labels = ogr.Open(job['labels'])
    layer = labels.GetLayer(job['layer'])
    gt = image.GetGeoTransform()
    windows = round_['windows']
    w, h = windows[0]['width'], windows[0]['height']
    with h5py.File(round_['out'], 'w') as f:
        images = f.create_dataset('images', (len(windows), image.RasterCount, h, w), np.uint16, chunks=(1, image.RasterCount, h, w))
        masks = f.create_dataset('masks', (len(windows), h, w), np.uint8, chunks=(1, h, w))
        for i, window in enumerate(windows):
            images[i] = image.ReadAsArray(window['x'], window['y'], w, h)
            masks[i] = mask(layer, window_frame(gt, window), job['attribute'])
    fd = os.open(round_['out'], os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mask(layer, frame, attribute):
    w = frame['w']
    ds = gdal.GetDriverByName('MEM').Create('', w['width'], w['height'], 1, gdal.GDT_Byte)
    ds.SetGeoTransform(frame['gt'])
    layer.SetSpatialFilterRect(*frame['bounds'])
    gdal.RasterizeLayer(ds, [1], layer, options=[f'ATTRIBUTE={attribute}'])
    return ds.ReadAsArray()


serve(lambda job: job, write_round)
