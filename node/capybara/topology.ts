import type { NodeId } from '../runtime/core.js';

/**
 * Who is who in a MigratingService testbed: the L4 switch is member 1, server s is 100 + s,
 * client c is 1000 + c. Every member has an emulated IPv4 address 10.0.x.y derived from its id,
 * and the service's virtual IP (VIP) belongs to the switch, which rewrites it to and from the
 * owning server.
 */
export const SWITCH: NodeId = 1;
export const MAX_SERVERS = 64;
export const MAX_CLIENTS = 1000;

export const serverNode = (s: number): NodeId => 100 + s;
export const clientNode = (c: number): NodeId => 1000 + c;

const NET = 0x0a00_0000;
/** 10.255.255.1: no member's address. */
export const VIP = 0x0aff_ff01;

export const ipOf = (node: NodeId): number => (NET + node) >>> 0;

/** A client end (IPv4 address, port) as one number (48 bits): the key of per-client maps on the per-packet path. */
export const endpointKey = (ip: number, port: number): number => ip * 0x1_0000 + port;

export function formatEndpoint(key: number): string {
  return `${formatIp(Math.floor(key / 0x1_0000))}:${key % 0x1_0000}`;
}
export const nodeOfIp = (ip: number): NodeId => ip - NET;

/** Whether `ip` is the address of one of the testbed's `servers` servers. */
export const isServerIp = (ip: number, servers: number): boolean => nodeOfIp(ip) >= serverNode(0) && nodeOfIp(ip) < serverNode(servers);

/** Whether `ip` is the address of one of the testbed's `clients` clients. */
export const isClientIp = (ip: number, clients: number): boolean => nodeOfIp(ip) >= clientNode(0) && nodeOfIp(ip) < clientNode(clients);

export function capybaraMemberName(id: NodeId): string {
  if (id === SWITCH) return 'switch';
  if (id >= 100 && id < 100 + MAX_SERVERS) return `server-${id - 100}`;
  if (id >= 1000 && id < 1000 + MAX_CLIENTS) return `client-${id - 1000}`;
  throw new Error(`no MigratingService member has id ${id}`);
}

/** Member name → id: `switch`, `server-s`, `client-c`. */
export function capybaraMemberId(name: string, p: { servers: number; clients: number }): NodeId {
  if (name === 'switch') return SWITCH;
  const m = /^(server|client)-(\d+)$/.exec(name);
  const n = m ? Number(m[2]) : -1;
  if (m?.[1] === 'server' && n < p.servers) return serverNode(n);
  if (m?.[1] === 'client' && n < p.clients) return clientNode(n);
  throw new Error(`no MigratingService member is named ${name} (switch, server-0..${p.servers - 1}, client-0..${p.clients - 1})`);
}

export function formatIp(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}
