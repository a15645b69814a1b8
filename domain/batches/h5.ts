export type H5 = typeof import('h5wasm/node').default;
export type { Dataset as H5Dataset, File as H5File, Group as H5Group } from 'h5wasm/node';
/** The Emscripten module under h5wasm: its heap and the C functions h5wasm's classes wrap. */
export type H5Module = Awaited<H5['ready']>;

let loaded: Promise<H5> | null = null;

/**
 * h5wasm, initialised once per process on first use (imported lazily: its 4 MB single-file WASM bundle is
 * slow to load under tsx, so code that never touches a batch should not pay for it).
 *
 * By default HDF5 only prints failures to stderr and h5wasm carries on (a failed write would go unnoticed and
 * a torn file be renamed into place), so the throwing error handler is switched on: every HDF5 failure becomes
 * a JavaScript exception.
 */
export function loadH5(): Promise<H5> {
  loaded ??= import('h5wasm/node').then(async ({ default: h5wasm }) => {
    const module = await h5wasm.ready;
    module.activate_throwing_error_handler();
    return h5wasm;
  });
  return loaded;
}
