export { openImage, type ImageSource, type OpenImageOptions } from './open-image.js';
export { nodataShare } from './nodata.js';
export { RemoteReadError } from './http-range-source.js';
export { stacImageUri, isStacItemUri } from './stac-item.js';
export { offerSpareBuffers, soleBuffer } from './spare-buffers.js';
