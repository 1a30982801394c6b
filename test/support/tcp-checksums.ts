import { checksum } from '../../node/capybara/tcp/checksum.js';

/** Recomputes the TCP checksum (over the pseudo-header) of an encoded packet, e.g. after a test altered a field. */
export function fixTcpChecksum(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(36, 0);
  const src = view.getUint32(12);
  const dst = view.getUint32(16);
  const len = bytes.length - 20;
  view.setUint16(36, checksum(bytes.subarray(20), (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + len));
}

/** Recomputes both checksums of a damaged packet (long enough to hold both headers), so that a decoder looks past them. */
export function fixChecksums(bytes: Uint8Array): void {
  if (bytes.length < 40) return;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint16(10, 0);
  view.setUint16(10, checksum(bytes.subarray(0, 20)));
  fixTcpChecksum(bytes);
}
