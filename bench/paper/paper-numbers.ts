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
