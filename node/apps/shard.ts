/** Which group (shard) holds a key: FNV-1a of the key, modulo the number of groups. */
export function shardOf(key: string, groups: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % groups;
}
