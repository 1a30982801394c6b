/**
 * Why `switchyard status` could not observe a testbed at all (no kubeconfig, API server
 * unreachable or refusing, no such resource): exit code 3, apart from a testbed that was
 * observed and failed its checks (exit code 1).
 */
export class ObserveError extends Error {
  override readonly name = 'ObserveError';
}

/** An error from @kubernetes/client-node or the network, said in a sentence that names what was asked of which server. */
export function describeApiError(err: unknown, server: string, what: string): string {
  const e = err as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e.code === 'number') {
    const status = typeof e.body === 'string' ? parseJson(e.body) : e.body;
    const message = (status as { message?: string } | undefined)?.message;
    if (e.code === 401) return `the API server at ${server} refused the credentials of the current kubeconfig context (401 Unauthorized) while ${what}`;
    if (e.code === 403) return `forbidden while ${what}: ${message ?? '403 Forbidden'} (the current user needs get on the resource, list on pods and get on pods/proxy)`;
    return `the API server at ${server} answered ${e.code} while ${what}${message ? `: ${message}` : ''}`;
  }
  const reason = e.cause?.code ?? (typeof e.code === 'string' ? e.code : undefined);
  return `cannot reach the API server at ${server} while ${what}: ${e.message ?? String(err)}${reason && !(e.message ?? '').includes(reason) ? ` (${reason})` : ''}`;
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
