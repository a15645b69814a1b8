import { bytesPerSample, viewSamples } from '../imagery/dtypes.js';
import type { Dtype, TypedArray } from '../types.js';
import type { H5Dataset, H5Module } from './h5.js';

/**
 * A slice of rows for one growable dataset, staged in h5wasm's own heap and appended with one hyperslab write.
 * Rows go straight into the heap block that HDF5 writes from: staging them in a JS array instead would copy every
 * chip once more (write_slice mallocs and copies its input on each call). The block is allocated once and must be
 * released with free().
 */
export class HeapRows {
  private readonly pointer: number;
  private view: TypedArray;
  /** The dataset's shape past the first axis, fixed at creation (asking h5wasm costs a metadata read). */
  private readonly rowShape: number[];

  constructor(
    private readonly module: H5Module,
    private readonly dataset: H5Dataset,
    private readonly dtype: Dtype,
    readonly rowLength: number,
    readonly capacity: number,
  ) {
    const bytes = Math.max(1, capacity * rowLength * bytesPerSample(dtype));
    this.pointer = module._malloc(bytes);
    if (!this.pointer) throw new Error(`could not allocate ${bytes} bytes in the HDF5 heap for ${dataset.path}`);
    this.view = this.heapView();
    this.rowShape = dataset.shape!.slice(1);
  }

  /** Row `slot` of the slice (0-based), to fill in place. */
  row(slot: number): TypedArray {
    return this.staged().subarray(slot * this.rowLength, (slot + 1) * this.rowLength);
  }

  set(slot: number, values: ArrayLike<number>): void {
    this.staged().set(values, slot * this.rowLength);
  }

  /** Grows the dataset to `from + rows` rows and writes the first `rows` staged rows at row `from`. */
  append(from: number, rows: number): void {
    const { rowShape } = this;
    this.dataset.resize([from + rows, ...rowShape]);
    const count = [rows, ...rowShape].map(BigInt);
    const offset = [from, ...rowShape.map(() => 0)].map(BigInt);
    const strides = count.map(() => 1n);
    this.module.set_dataset_data(this.dataset.file_id, this.dataset.path, count, offset, strides, BigInt(this.pointer));
  }

  free(): void {
    this.module._free(this.pointer);
  }

  /** The staging block; made anew when the WASM memory has grown, which detaches the old views. */
  private staged(): TypedArray {
    if (this.view.buffer !== this.module.HEAPU8.buffer) this.view = this.heapView();
    return this.view;
  }

  private heapView(): TypedArray {
    return viewSamples(this.dtype, this.module.HEAPU8.buffer as ArrayBuffer, this.pointer, this.capacity * this.rowLength);
  }
}
