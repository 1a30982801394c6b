/**
 * A server application on one TCP connection. Its state is per connection so that it can travel
 * with the connection when Capybara migrates it (the reference's ApplicationState).
 */
export interface StreamSession {
  /** Consumes bytes from the client; returns the reply bytes (possibly empty) and the requests completed. */
  feed(bytes: Uint8Array): { reply: Uint8Array; requests: number };
  exportState(): Uint8Array;
}

export interface StreamApp {
  readonly name: 'kv' | 'echo';
  open(): StreamSession;
  /** Rebuilds a session from exportState's bytes; throws WireError on malformed state. */
  restore(state: Uint8Array): StreamSession;
}
