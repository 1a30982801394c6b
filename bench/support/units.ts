/** Seconds as milliseconds for a report table ('—' when not measured). */
export const ms = (s: number | null | undefined) => (s === null || s === undefined ? '—' : `${(s * 1e3).toFixed(3)} ms`);

/** Seconds as microseconds for a report table ('—' when not measured). */
export const us = (s: number | null | undefined) => (s === null || s === undefined ? '—' : `${(s * 1e6).toFixed(0)} µs`);

/** All members' CPU per op: the per-role sums of `cpu_s_per_op` (`busiest_replica` is left out: it is one of them). */
export const allCpu = (cpu: Record<string, number>) => Object.entries(cpu).filter(([k]) => k !== 'busiest_replica').reduce((a, [, v]) => a + v, 0);
