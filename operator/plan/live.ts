/** A document with its live fields (those a running testbed takes through its protocol) removed. */
export function withoutLive(doc: unknown, live: string[]): unknown {
  const copy = structuredClone(doc) as Record<string, Record<string, unknown>>;
  for (const path of live) {
    const [a, b] = path.split('.') as [string, string];
    if (copy[a]) delete copy[a][b];
  }
  return copy;
}
