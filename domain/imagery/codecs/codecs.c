/*
 * Block codecs of veda's window reads, compiled to WebAssembly (wasm32, freestanding) by
 * scripts/build-codecs-wasm.sh: libdeflate's zlib decompressor for DEFLATE tiles (1.2-1.3x Node's zlib, within
 * about 10% of native libdeflate, which GDAL uses) and a TIFF LZW decoder (2-2.5x veda's JavaScript one, lzw.ts,
 * which it follows step for step). Callers copy input and output through the memory after `scratch()`.
 */
#include <stddef.h>
#include <stdint.h>
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

/* Per LZW code: where its string starts in the output and how long it is (see lzw.ts). */
static int32_t lzw_start[4096];
static uint16_t lzw_length[4096];

/*
 * TIFF LZW (MSB-first codes of 9 to 12 bits, widened one code early as libtiff does), up to the end-of-information
 * code or the last whole code. Returns the byte count, -1 for corrupt data, -2 when it holds more than `avail` bytes.
 */
__attribute__((export_name("lzw_decode"))) long lzw_decode(const uint8_t *in, size_t in_len, uint8_t *out, size_t avail) {
  size_t pos = 0, at = 0;
  uint32_t acc = 0;
  int held = 0, width = 9, next = 258, prev_length = 0;
  long prev_start = -1;
  for (;;) {
    while (held < width) {
      if (at >= in_len) return (long)pos;
      acc = ((acc << 8) | in[at++]) & 0xffffff;
      held += 8;
    }
    held -= width;
    int code = (int)((acc >> held) & ((1u << width) - 1));
    if (code == 257) break;
    if (code == 256) {
      width = 9;
      next = 258;
      prev_start = -1;
      continue;
    }
    int n;
    if (code < 256) n = 1;
    else if (prev_start < 0) return -1;
    else if (code < next) n = lzw_length[code];
    else if (code == next) n = prev_length + 1;
    else return -1;
    if (pos + (size_t)n > avail) return -2;
    if (code < 256) {
      out[pos] = (uint8_t)code;
    } else {
      /* Forward byte copy: for code == next the source runs into the bytes being written. */
      const uint8_t *src = out + (code == next ? (size_t)prev_start : (size_t)lzw_start[code]);
      uint8_t *dst = out + pos;
      if (dst - src >= 8 && pos + (size_t)n + 8 <= avail) {
        /* Eight bytes at a time (the source ends at least 8 bytes before the destination starts); the last word may
           write past the string, into room the next strings overwrite. */
        for (int i = 0; i < n; i += 8) { uint64_t w; __builtin_memcpy(&w, src + i, 8); __builtin_memcpy(dst + i, &w, 8); }
      } else {
        for (int i = 0; i < n; i++) dst[i] = src[i];
      }
    }
    if (prev_start >= 0 && next < 4096) {
      lzw_start[next] = (int32_t)prev_start;
      lzw_length[next] = (uint16_t)(prev_length + 1);
      next++;
      if (next + 1 >= (1 << width) && width < 12) width++;
    }
    prev_start = (long)pos;
    prev_length = n;
    pos += (size_t)n;
  }
  return (long)pos;
}
