/**
 * The papers' own numbers that `bench paper` sets beside its figures, each with its source.
 * Copied from the project's reference notes (seed-systems.md), which tag every fact.
 */
export interface PaperNumber {
  claim: string;
  /** Paper, section or figure, and through which source the number reached us. */
  source: string;
  /** False when only a third-party summary gives the number. */
  verified: boolean;
}

const HYDRA = 'Choi et al., "Hydra: Serialization-Free Network Ordering for Strongly Consistent Distributed Applications", NSDI \'23';
const HYDRA_ZH = `${HYDRA}, evaluation, as reported by a third-party summary (the paper itself was not available)`;

export const hydraNumbers = {
  scaling8: {
    claim: '8 sequencers reach about 250 M groupcasts/s in a microbenchmark (switch hardware)',
    source: HYDRA_ZH, verified: false,
  },
  scalingLinear: {
    claim: 'ordered throughput grows about linearly with the number of sequencers',
    source: HYDRA_ZH, verified: false,
  },
  reroute: {
    claim: 'updating forwarding tables through the network control plane takes >200 ms; a single sequencer blocks ordering that long',
    source: `${HYDRA}, motivation, as reported by a third-party summary`, verified: false,
  },
  failover: {
    claim: "Hydra's failover needs only failure detection plus reconfiguration, not a network reroute (no failover time given)",
    source: `${HYDRA}, sequencer removal, as reported by a third-party summary; the abstract says "shorter sequencer failover"`, verified: false,
  },
  delay: {
    claim: 'no ordering-delay distribution for Hydra was found in the available sources',
    source: `${HYDRA}: the abstract says only "the same gains as serialization-based ordering"`, verified: true,
  },
} satisfies Record<string, PaperNumber>;

const CAPY = 'Capybara, "Dynamic Load Balancing with Microsecond-Scale TCP Migration", SIGCOMM \'26';
const CAPY_AE = `${CAPY}, artifact nus-sys/capybara-artifact`;

/** Migration latency in µs by connection-state size, TCP (no TLS): total end to end and server CPU where given. */
export const capybaraMigrationUs = {
  source: `${CAPY_AE}, AE/fig14/README.md (paper data), via seed-systems.md §4.7`,
  points: [
    { state_kb: 0, total: 11.28, cpu: 2.29 },
    { state_kb: 16, total: 19.71, cpu: null },
    { state_kb: 32, total: 25.6, cpu: null },
    { state_kb: 64, total: 36.71, cpu: null },
    { state_kb: 128, total: 58.04, cpu: 4.62 },
  ],
} as const;

export const capybaraNumbers = {
  fig8: {
    claim: 'Fig. 8 step workload (2 servers, 100 connections, Zipf 1.2, server 0 stepping 90K → 810K requests/s): p99 LWRR >20 ms, reactive migration ~1 ms, Capybara 10–100 µs',
    source: `${CAPY_AE}, AE/README.md, via seed-systems.md §4.7`, verified: true,
  },
  migrationBySize: {
    claim: `TCP migration total / server CPU (µs) by state size: ${capybaraMigrationUs.points.map((p) => `${p.state_kb} KB ${p.total}${p.cpu === null ? '' : ` / ${p.cpu}`}`).join(', ')}`,
    source: capybaraMigrationUs.source, verified: true,
  },
  migrationHeadline: {
    claim: 'a migration takes <3 µs of server CPU and <15 µs end to end',
    source: `${CAPY_AE}, AE/README.md, via seed-systems.md §4.7`, verified: true,
  },
} satisfies Record<string, PaperNumber>;

const NEO = 'the NeoBFT paper (SIGCOMM \'23), §6, camera-ready PDF in nus-sys/neobft-artifact (seed-systems.md [NEO-PAPER])';

export const neobftNumbers = {
  throughput: {
    claim: 'NeoBFT-HM peak throughput is 2.5× PBFT\'s (4 replicas, echo RPC; Fig. 7\'s axes reach about 400K ops/s); NeoBFT uses no batching, PBFT does',
    source: NEO, verified: true,
  },
  latency: {
    claim: 'NeoBFT-HM latency is 14.68× lower than PBFT\'s; NeoBFT-PK adds 55 µs and has about 60K ops/s less throughput than NeoBFT-HM',
    source: NEO, verified: true,
  },
  baselines: {
    claim: 'NeoBFT-HM peak throughput is 3.4× HotStuff\'s and 1.8× Zyzzyva\'s; its latency is 42.28× lower than HotStuff\'s and 8.56× lower than Zyzzyva\'s',
    source: NEO, verified: true,
  },
  scaling: {
    claim: 'NeoBFT-PK reaches 100 replicas with a 13 % throughput drop (AWS, software sequencer); NeoBFT-HM falls, as each replica receives one packet per 4-receiver subgroup',
    source: NEO, verified: true,
  },
  drops: {
    claim: 'almost no effect of simulated drop rates of 0.001–0.1 %; a visible drop at 1 %',
    source: NEO, verified: true,
  },
} satisfies Record<string, PaperNumber>;

export const hydraPaxosNumbers = {
  nopaxos: {
    claim: 'NOPaxos: throughput within 2 % and latency within 16 µs of an unreplicated system',
    source: 'NOPaxos (OSDI \'16), as stated in the UWSysLab/NOPaxos README (seed-systems.md [NOPAXOS])', verified: true,
  },
  hydrapaxos: {
    claim: 'HydraPaxos and HydraTxn throughput and latency figures were not found in the available sources; the abstract claims the gains of serialization-based ordering with higher scalability',
    source: `${HYDRA}: abstract; a third-party summary`, verified: false,
  },
} satisfies Record<string, PaperNumber>;
