/*
 * Block codecs of veda's window reads, compiled to WebAssembly (wasm32 with SIMD, freestanding) by
 * scripts/build-codecs-wasm.sh: libdeflate's zlib decompressor for DEFLATE tiles, with the Adler-32 below, a TIFF
 * LZW decoder (2-2.5x veda's JavaScript one, lzw.ts, which it follows step for step), TIFF predictor 2, undone
 * while a block is still in this memory, and the copy of bands out of kept blocks into windows. Callers copy input
 * and output through the memory after `scratch()`.
 */
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>
#include "libdeflate.h"

#define ADLER32_MOD 65521

/*
 * Adler-32 with 128-bit SIMD, in place of libdeflate's adler32.c (whose fast versions are for x86 and ARM only; its
 * portable one took a fifth of a tile's inflate here). 32 bytes per step: per-lane byte sums and position sums stay
 * in 16 and 32 bits for up to 128 steps (a 16-bit sum of 128 bytes is at most 32640, as the signed dot product
 * needs), then fold into s1 and s2 modulo 65521.
 */
uint32_t libdeflate_adler32(uint32_t adler, const void *buffer, size_t len) {
  if (buffer == NULL) return 1;
  const uint8_t *p = buffer;
  uint32_t s1 = adler & 0xffff, s2 = adler >> 16;
  const v128_t weights_a = wasm_i16x8_make(32, 31, 30, 29, 28, 27, 26, 25);
  const v128_t weights_b = wasm_i16x8_make(24, 23, 22, 21, 20, 19, 18, 17);
  const v128_t weights_c = wasm_i16x8_make(16, 15, 14, 13, 12, 11, 10, 9);
  const v128_t weights_d = wasm_i16x8_make(8, 7, 6, 5, 4, 3, 2, 1);
  while (len >= 32) {
    size_t steps = len / 32 > 128 ? 128 : len / 32;
    len -= steps * 32;
    v128_t bytes = wasm_i32x4_splat(0), before = bytes, a = bytes, b = bytes, c = bytes, d = bytes;
    for (size_t k = 0; k < steps; k++, p += 32) {
      v128_t x = wasm_v128_load(p), y = wasm_v128_load(p + 16);
      before = wasm_i32x4_add(before, bytes); /* the bytes summed before this step, per lane */
      v128_t pairs = wasm_i16x8_add(wasm_u16x8_extadd_pairwise_u8x16(x), wasm_u16x8_extadd_pairwise_u8x16(y));
      bytes = wasm_i32x4_add(bytes, wasm_u32x4_extadd_pairwise_u16x8(pairs));
      a = wasm_i16x8_add(a, wasm_u16x8_extend_low_u8x16(x));
      b = wasm_i16x8_add(b, wasm_u16x8_extend_high_u8x16(x));
      c = wasm_i16x8_add(c, wasm_u16x8_extend_low_u8x16(y));
      d = wasm_i16x8_add(d, wasm_u16x8_extend_high_u8x16(y));
    }
    v128_t weighted = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(a, weights_a), wasm_i32x4_dot_i16x8(b, weights_b)),
                                     wasm_i32x4_add(wasm_i32x4_dot_i16x8(c, weights_c), wasm_i32x4_dot_i16x8(d, weights_d)));
    uint64_t sum = 0, sum_before = 0, sum_weighted = 0;
    uint32_t lanes_bytes[4], lanes_before[4], lanes_weighted[4];
    wasm_v128_store(lanes_bytes, bytes);
    wasm_v128_store(lanes_before, before);
    wasm_v128_store(lanes_weighted, weighted);
    for (int lane = 0; lane < 4; lane++) {
      sum += lanes_bytes[lane];
      sum_before += lanes_before[lane];
      sum_weighted += lanes_weighted[lane];
    }
    /* Each step adds 32 times the s1 it starts from, plus each byte weighted by how many sums it is still in. */
    s2 = (uint32_t)((s2 + 32 * ((uint64_t)steps * s1 + sum_before) + sum_weighted) % ADLER32_MOD);
    s1 = (uint32_t)((s1 + sum) % ADLER32_MOD);
  }
  for (; len; len--, p++) {
    s1 += *p;
    s2 += s1;
  }
  return ((s2 % ADLER32_MOD) << 16) | (s1 % ADLER32_MOD);
}

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

/* `v` moved up by `s` bytes (1, 2, 4 or 8), zeros shifted in. */
static inline __attribute__((always_inline)) v128_t shift_up(v128_t v, int s) {
  const v128_t z = wasm_i64x2_splat(0);
  if (s == 1) return wasm_i8x16_shuffle(z, v, 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30);
  if (s == 2) return wasm_i8x16_shuffle(z, v, 0, 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
  if (s == 4) return wasm_i8x16_shuffle(z, v, 0, 0, 0, 0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27);
  return wasm_i8x16_shuffle(z, v, 0, 0, 0, 0, 0, 0, 0, 0, 16, 17, 18, 19, 20, 21, 22, 23);
}

/* The last pixel of `v` (of `p` = 1, 2, 4 or 8 bytes) in every pixel's place. */
static inline __attribute__((always_inline)) v128_t last_pixel(v128_t v, int p) {
  if (p == 1) return wasm_i8x16_shuffle(v, v, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15);
  if (p == 2) return wasm_i8x16_shuffle(v, v, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15, 14, 15);
  if (p == 4) return wasm_i8x16_shuffle(v, v, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
  return wasm_i8x16_shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
}

/* The first `p` bytes of `v` (3, 6, 12 or 16) to `q`: a pixel, and nothing after it. */
static inline __attribute__((always_inline)) void store_pixel(uint8_t *q, v128_t v, int p) {
  if (p == 3) { wasm_v128_store16_lane(q, v, 0); wasm_v128_store8_lane(q + 2, v, 2); }
  else if (p == 6) { wasm_v128_store32_lane(q, v, 0); wasm_v128_store16_lane(q + 4, v, 2); }
  else if (p == 12) { wasm_v128_store64_lane(q, v, 0); wasm_v128_store32_lane(q + 8, v, 2); }
  else wasm_v128_store(q, v);
}

/* Bytes `from` onwards of a row, a sample at a time: each sample plus the same band's sample before it. */
#define PREDICT_SAMPLES(type)                                                                 \
  {                                                                                           \
    type *s = (type *)row;                                                                    \
    size_t n = row_bytes / sizeof(type), stride = (size_t)pixel / sizeof(type);              \
    for (size_t i = from / sizeof(type); i < n; i++) s[i] = (type)(s[i] + s[i - stride]);   \
  }
static void predict_samples(uint8_t *row, size_t from, size_t row_bytes, int size, int pixel) {
  if (from < (size_t)pixel) from = (size_t)pixel;
  if (size == 1) PREDICT_SAMPLES(uint8_t)
  else if (size == 2) PREDICT_SAMPLES(uint16_t)
  else if (size == 4) PREDICT_SAMPLES(uint32_t)
  else PREDICT_SAMPLES(uint64_t)
}

/* Pixels of 1, 2, 4 or 8 bytes, 16 bytes at a time: a prefix sum of the vector's pixels plus the last pixel of the
   vector before (the sums wrap in lanes of the sample width, as the differencing did); the row's tail by sample. */
#define PREFIX_ROWS(P, add)                                                                   \
  for (size_t r = 0; r < rows; r++) {                                                         \
    uint8_t *row = p + r * row_bytes, *q = row, *end = row + (row_bytes & ~(size_t)15);     \
    v128_t carry = wasm_i64x2_splat(0);                                                       \
    for (; q < end; q += 16) {                                                                \
      v128_t v = wasm_v128_load(q);                                                           \
      for (int s = P; s < 16; s *= 2) v = add(v, shift_up(v, s));                            \
      carry = add(v, last_pixel(carry, P));                                                   \
      wasm_v128_store(q, carry);                                                              \
    }                                                                                         \
    predict_samples(row, (size_t)(end - row), row_bytes, size, P);                           \
  }

/* Pixels of 3, 6, 12 or 16 bytes, one at a time: the pixel plus the running sum, of which only the pixel's bytes are
   stored (a 16-byte store would overlap the next load and stall it). Loads may read 13 bytes past the rows. */
#define PIXEL_ROWS(P, add)                                                                    \
  for (size_t r = 0; r < rows; r++) {                                                         \
    uint8_t *q = p + r * row_bytes, *end = q + row_bytes;                                     \
    v128_t sum = wasm_i64x2_splat(0);                                                         \
    for (; q < end; q += P) {                                                                 \
      sum = add(wasm_v128_load(q), sum);                                                      \
      store_pixel(q, sum, P);                                                                 \
    }                                                                                         \
  }

#define BY_SIZE(ROWS, P)                                                                      \
  if (size == 1) ROWS(P, wasm_i8x16_add)                                                      \
  else if (size == 2) ROWS(P, wasm_i16x8_add)                                                 \
  else if (size == 4) ROWS(P, wasm_i32x4_add)                                                 \
  else ROWS(P, wasm_i64x2_add)

/*
 * Undoes TIFF predictor 2 (horizontal differencing) in place on `rows` rows of `row_bytes` bytes at `p`: samples of
 * `size` bytes (1, 2, 4 or 8), little-endian, `pixel` bytes per pixel (a multiple of `size`). Needs 16 bytes of
 * room after the rows.
 */
__attribute__((export_name("undo_predictor2"))) void undo_predictor2(uint8_t *p, size_t rows, size_t row_bytes, int size, int pixel) {
  switch (pixel) {
    case 1: BY_SIZE(PREFIX_ROWS, 1) break;
    case 2: BY_SIZE(PREFIX_ROWS, 2) break;
    case 4: BY_SIZE(PREFIX_ROWS, 4) break;
    case 8: BY_SIZE(PREFIX_ROWS, 8) break;
    case 3: BY_SIZE(PIXEL_ROWS, 3) break;
    case 6: BY_SIZE(PIXEL_ROWS, 6) break;
    case 12: BY_SIZE(PIXEL_ROWS, 12) break;
    case 16: BY_SIZE(PIXEL_ROWS, 16) break;
    default:
      for (size_t r = 0; r < rows; r++) predict_samples(p + r * row_bytes, 0, row_bytes, size, pixel);
  }
}

/* One band's samples of `count` pixels: every `step` bytes from `s` to consecutive samples at `d`. */
#define GATHER_SAMPLES(T)                                                                    \
  for (size_t i = 0; i < count; i++, s += step, d += sizeof(T)) {                            \
    T v;                                                                                     \
    __builtin_memcpy(&v, s, sizeof(T));                                                      \
    __builtin_memcpy(d, &v, sizeof(T));                                                      \
  }

/*
 * Copies bands out of pixel-interleaved block rows into band planes, where a window is assembled: for each of `rows`
 * rows (`src_row` bytes apart in the block, `dst_row` bytes apart in the window) and each of `ntargets` bands,
 * `count` samples of `size` bytes (1, 2, 4 or 8), `step` bytes apart, from `block` + targets[2t] to consecutive
 * samples at `out` + targets[2t + 1]. A row's bands are copied together, so its pixels are read from cache, not
 * memory, for every band after the first. (JavaScript copies from this memory at about half the speed once any
 * buffer of the thread has been detached, which a growing memory or a transferred chip does.)
 */
__attribute__((export_name("gather_rows"))) void gather_rows(uint8_t *out, const uint8_t *block, size_t rows, size_t count, int size,
                                                              size_t step, size_t src_row, size_t dst_row,
                                                              const uint32_t *targets, size_t ntargets) {
  for (size_t r = 0; r < rows; r++) {
    for (size_t t = 0; t < ntargets; t++) {
      const uint8_t *s = block + targets[2 * t] + r * src_row;
      uint8_t *d = out + targets[2 * t + 1] + r * dst_row;
      if (size == 2) GATHER_SAMPLES(uint16_t)
      else if (size == 1) GATHER_SAMPLES(uint8_t)
      else if (size == 4) GATHER_SAMPLES(uint32_t)
      else GATHER_SAMPLES(uint64_t)
    }
  }
}
