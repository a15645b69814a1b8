"""GDAL baseline of bench/window-reads.ts: a round opens the file, reads its windows with ReadAsArray, closes it."""
from osgeo import gdal

from harness import serve

gdal.UseExceptions()


def read_round(path, windows):
    ds = gdal.Open(path)
    for w in windows:
        ds.ReadAsArray(w['x'], w['y'], w['width'], w['height'])
    ds = None  # closing drops the dataset's cached blocks, as veda and geotiff drop theirs


serve(lambda job: job['path'], read_round)
