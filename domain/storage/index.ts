export type { ObjectStore } from './object-store.js';
export { LocalObjectStore } from './local-object-store.js';
export { S3ObjectStore } from './s3-object-store.js';
export { openObjectStore } from './open-object-store.js';
export { isS3Uri, parseS3Location, parseS3Uri, s3Client, type S3Location, type S3Settings } from './s3-location.js';
export { asS3Error } from './s3-errors.js';
export { S3File } from './s3-file.js';
export { registerRemoteScheme, remoteFile, schemeOf, type RemoteFile } from './remote-files.js';
