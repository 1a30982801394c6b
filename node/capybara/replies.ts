/**
 * How a Capybara client splits what its server sent into replies. KV: one RESP reply — a line
 * (`+OK`, `:n`, `-ERR …`, `$-1`), or a bulk string `$len` with its body, returned as `$body`;
 * echo: one line. A bulk length that is not a decimal number is no bulk string: the line comes
 * back as it is, and the client counts it as a wrong reply.
 */
export function takeReply(inbox: string, app: 'kv' | 'echo'): { reply: string; rest: string } | null {
  if (app === 'echo') {
    const end = inbox.indexOf('\n');
    return end < 0 ? null : { reply: inbox.slice(0, end + 1), rest: inbox.slice(end + 1) };
  }
  const end = inbox.indexOf('\r\n');
  if (end < 0) return null;
  const head = inbox.slice(0, end);
  const bulk = /^\$(\d{1,9})$/.exec(head);
  if (!bulk) return { reply: head, rest: inbox.slice(end + 2) };
  const len = Number(bulk[1]);
  if (inbox.length < end + 2 + len + 2) return null;
  return { reply: `$${inbox.slice(end + 2, end + 2 + len)}`, rest: inbox.slice(end + 2 + len + 2) };
}
