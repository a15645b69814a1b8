/** veda's version (see domain/manifest/version.ts, where manifests read it too). */
export { vedaVersion } from '../domain/manifest/version.js';
