import type { Dtype, TypedArray } from '../types.js';

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

const ARRAY_OF: Record<Dtype, TypedArrayConstructor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export function bytesPerSample(dtype: Dtype): number {
  return ARRAY_OF[dtype].BYTES_PER_ELEMENT;
}

/** A zeroed typed array of `length` samples of `dtype`. */
export function allocateSamples(dtype: Dtype, length: number): TypedArray {
  return new ARRAY_OF[dtype](length);
}

/** A typed array of `dtype` over `bytes` (no copy); `byteOffset` must be a multiple of the sample size. */
export function viewSamples(dtype: Dtype, bytes: ArrayBuffer, byteOffset: number, length: number): TypedArray {
  return new ARRAY_OF[dtype](bytes, byteOffset, length);
}

/** True when `data` is the typed array that holds `dtype` (a Uint8Array for uint8, ...). */
export function holdsDtype(data: TypedArray, dtype: Dtype): boolean {
  return data instanceof ARRAY_OF[dtype];
}

/** The bytes of a typed array, without copying. */
export function bytesOf(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
