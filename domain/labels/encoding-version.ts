/**
 * Version of the label encodings (one-hot, pixel boxes, run-length masks and the rules behind them: min overlap,
 * box clipping, the pixel-centre and all-touched rules). Bump it whenever the same window and features would encode
 * differently, so a manifest tells which encoder made a dataset. 2: all-touched masks equal gdal_rasterize -at.
 */
export const LABEL_ENCODING_VERSION = 2;
