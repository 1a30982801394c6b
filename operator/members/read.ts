import type { MemberAccess, MemberAddress } from './access.js';
import { parseExposition } from './exposition.js';
import type { MemberReading } from './progress.js';

export type ReadResult = 'ok' | 'unreachable' | 'malformed';

/**
 * Reads `/metrics` of each member at once (member name → its address); a member that does not
 * answer, or answers with something that is not the exposition format, gets an Error naming why.
 * `counted` learns every outcome (the operator counts them in a metric).
 */
export async function readMembers(
  access: MemberAccess, members: Map<string, MemberAddress>, timeoutMs: number, counted: (r: ReadResult) => void = () => {},
): Promise<Map<string, MemberReading>> {
  const read = async (to: MemberAddress): Promise<MemberReading> => {
    let text: string;
    try {
      text = await access.get(to, '/metrics', timeoutMs);
    } catch (err) {
      counted('unreachable');
      return err as Error;
    }
    try {
      const samples = parseExposition(text);
      counted('ok');
      return samples;
    } catch (err) {
      counted('malformed');
      return err as Error;
    }
  };
  const entries = await Promise.all([...members].map(async ([member, to]) => [member, await read(to)] as const));
  return new Map(entries);
}
