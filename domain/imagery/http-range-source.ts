/**
 * The http(s) byte source of a GeoTIFF: range requests through RangeSource's block cache. Other schemes (s3) plug
 * in the same way, as RemoteFiles (domain/storage/remote-files.ts).
 */
import { DEFAULT_HTTP_TIMEOUT_MS, HttpFile } from '../storage/http-file.js';
import { RangeSource } from './range-source.js';

export { DEFAULT_HTTP_TIMEOUT_MS, RemoteReadError } from '../storage/http-file.js';

export class HttpRangeSource extends RangeSource {
  /** `what` names the input in messages ('image', 'label file'). */
  constructor(url: string, timeoutMs = DEFAULT_HTTP_TIMEOUT_MS, what = 'image') {
    super(new HttpFile(url, timeoutMs, what));
  }
}
