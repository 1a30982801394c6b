/**
 * The Internet checksum (RFC 1071): the ones' complement of the ones' complement sum of the
 * data as big-endian 16-bit words, an odd last byte padded with zero. `initial` chains sums
 * (a pseudo-header, then the segment).
 */
export function onesSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even !== bytes.length) sum += bytes[even]! << 8;
  return fold(sum);
}

/** Folds carries back into 16 bits (exact: a datagram's sum of 16-bit words stays far below 2^53). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export function checksum(bytes: Uint8Array, initial = 0): number {
  return ~onesSum(bytes, initial) & 0xffff;
}
