/*
 * The native baseline of `switchyard bench crypto`: HalfSipHash-2-4 with 32-bit output, written
 * in this project from the published algorithm (docs/neobft.md#halfsiphash-2-4), built with the machine's
 * gcc -O2. Usage: halfsiphash INPUT_BYTES ITERATIONS — prints MACs per second and a checksum
 * (which also keeps the compiler from discarding the work).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROTL(x, b) (uint32_t)(((x) << (b)) | ((x) >> (32 - (b))))
#define ROUND                                                                  \
  do {                                                                         \
    v0 += v1; v1 = ROTL(v1, 5); v1 ^= v0; v0 = ROTL(v0, 16);                   \
    v2 += v3; v3 = ROTL(v3, 8); v3 ^= v2;                                      \
    v0 += v3; v3 = ROTL(v3, 7); v3 ^= v0;                                      \
    v2 += v1; v1 = ROTL(v1, 13); v1 ^= v2; v2 = ROTL(v2, 16);                  \
  } while (0)

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t halfsiphash32(uint32_t k0, uint32_t k1, const uint8_t *m, size_t len) {
  uint32_t v0 = k0, v1 = k1, v2 = k0 ^ 0x6c796765u, v3 = k1 ^ 0x74656462u;
  const uint8_t *end = m + (len & ~(size_t)3);
  for (; m != end; m += 4) {
    uint32_t w = load_le32(m);
    v3 ^= w; ROUND; ROUND; v0 ^= w;
  }
  uint32_t b = (uint32_t)len << 24;
  switch (len & 3) {
    case 3: b |= (uint32_t)m[2] << 16; /* fall through */
    case 2: b |= (uint32_t)m[1] << 8; /* fall through */
    case 1: b |= m[0];
  }
  v3 ^= b; ROUND; ROUND; v0 ^= b;
  v2 ^= 0xff; ROUND; ROUND; ROUND; ROUND;
  return v1 ^ v3;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s INPUT_BYTES ITERATIONS\n", argv[0]);
    return 2;
  }
  size_t len = (size_t)atol(argv[1]);
  long n = atol(argv[2]);
  uint8_t *msg = calloc(len + 1, 1);
  uint32_t acc = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    msg[0] = (uint8_t)i;
    acc ^= halfsiphash32(0x03020100u, 0x07060504u, msg, len);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("{\"macs_per_s\": %.0f, \"checksum\": %u}\n", (double)n / s, acc);
  free(msg);
  return 0;
}
