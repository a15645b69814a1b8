export { renderPreview, DEFAULT_SCALE, MAX_SCALE, MAX_PREVIEW_SIDE, type LegendEntry, type PreviewOptions, type RenderedPreview } from './render-preview.js';
export { blendChannel, legendSquare, outlineWidth, MASK_OPACITY } from './label-overlay.js';
export { classColour, hexColour, type Rgb } from './class-colours.js';
export { bandRange, DEFAULT_PERCENTILES } from './stretch.js';
export { encodePng } from './png.js';
export { naturalColourBands, type BandChoice } from './natural-colour.js';
export type { RgbaImage } from './canvas.js';
