"""Pixel windows in map coordinates, shared by the baselines that work per window."""


def window_frame(gt, w):
    """The window's geotransform and bounds; the layer is filtered to the features whose envelope meets them."""
    minx = gt[0] + w['x'] * gt[1]
    maxy = gt[3] + w['y'] * gt[5]
    maxx = minx + w['width'] * gt[1]
    miny = maxy + w['height'] * gt[5]
    return {'w': w, 'gt': [minx, gt[1], 0, maxy, 0, gt[5]], 'bounds': (minx, miny, maxx, maxy)}
