/**
 * Version of the label encodings (one-hot, pixel boxes, run-length masks and the rules behind them: min overlap,
 * box clipping, the pixel-centre rule). Bump it whenever the same window and features would encode differently,
 * so a manifest tells which encoder made a dataset.
 */
export const LABEL_ENCODING_VERSION = 1;
