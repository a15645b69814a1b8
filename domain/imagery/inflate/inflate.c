/*
 * veda's entry points to libdeflate's zlib decompressor, compiled to WebAssembly (wasm32, freestanding) by
 * scripts/build-inflate-wasm.sh. libdeflate inflates TIFF DEFLATE tiles 1.2-1.3x faster than Node's zlib, within
 * about 10% of native libdeflate (what GDAL uses).
 */
#include <stddef.h>
#include "libdeflate.h"

extern unsigned char __heap_base;
static size_t heap_top = 0;

/* The decompressor's one allocation (about 32 KiB), made once, so a bump allocator is enough. */
static void *bump(size_t n) {
  if (heap_top == 0) heap_top = (size_t)&__heap_base;
  size_t at = (heap_top + 15) & ~(size_t)15;
  size_t end = at + n;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return NULL;
  heap_top = end;
  return (void *)at;
}
static void no_free(void *p) { (void)p; }

static struct libdeflate_decompressor *decompressor = NULL;

/* Sets up the decompressor; returns where free memory starts (for the caller's input and output), 0 on failure. */
__attribute__((export_name("scratch"))) size_t scratch(void) {
  if (decompressor == NULL) {
    struct libdeflate_options options = { sizeof(options), bump, no_free };
    decompressor = libdeflate_alloc_decompressor_ex(&options);
    if (decompressor == NULL) return 0;
  }
  return (heap_top + 15) & ~(size_t)15;
}

/*
 * Inflates the zlib stream at `in` (trailing bytes after its end are ignored, as zlib does) into `out`, which has
 * room for `avail` bytes. Returns the byte count, -1 for data that is not a valid zlib stream (adler32 checked),
 * -2 when the data holds more than `avail` bytes.
 */
__attribute__((export_name("zlib_inflate"))) long zlib_inflate(const void *in, size_t in_len, void *out, size_t avail) {
  size_t actual = 0;
  enum libdeflate_result result = libdeflate_zlib_decompress(decompressor, in, in_len, out, avail, &actual);
  if (result == LIBDEFLATE_SUCCESS) return (long)actual;
  return result == LIBDEFLATE_INSUFFICIENT_SPACE ? -2 : -1;
}
