import type { Dtype } from '../types.js';

/** h5wasm names HDF5 types with Python struct letters, little-endian (numpy-style '|u1' is rejected). */
const H5_TYPE_OF: Record<Dtype, string> = {
  uint8: '<B',
  int8: '<b',
  uint16: '<H',
  int16: '<h',
  uint32: '<I',
  int32: '<i',
  float32: '<f',
  float64: '<d',
};

export function h5TypeOf(dtype: Dtype): string {
  return H5_TYPE_OF[dtype];
}

/** The veda dtype of an h5wasm dtype string, or null when it is not one veda stores. */
export function dtypeOfH5Type(h5Type: unknown): Dtype | null {
  const entry = Object.entries(H5_TYPE_OF).find(([, letter]) => letter === h5Type);
  return entry ? (entry[0] as Dtype) : null;
}
