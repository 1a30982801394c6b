/**
 * How the report code reaches a testbed's members: `switchyard up` by URL on loopback,
 * `switchyard status` through the Kubernetes API server's pod proxy. Read-only: GETs of the
 * JSON endpoints every member serves beside `/metrics` (DESIGN.md, Metrics).
 */
export interface MemberAccess {
  /** The body of `path` (e.g. `/metrics.json`) at `member`, parsed; throws, saying why, when it does not answer. */
  getJson(member: string, path: string, timeoutMs: number): Promise<unknown>;
}

/** Members at plain HTTP base URLs (the local runner's loopback ports). */
export function urlAccess(urlOf: (member: string) => string): MemberAccess {
  return {
    async getJson(member, path, timeoutMs) {
      const res = await fetch(`${urlOf(member)}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`${member}: GET ${path} answered ${res.status}`);
      return res.json();
    },
  };
}
