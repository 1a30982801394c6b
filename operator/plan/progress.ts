import type { ProgressCounter } from './types.js';

/** The key-value clients' completed requests (HydraPaxos, HydraTxn, NeoBFT, PBFT, unreplicated). */
export const clientsCommitted: ProgressCounter = {
  members: 'client-', role: 'clients', metric: 'switchyard_client_requests_total', labels: { result: 'committed' }, did: 'committed', doing: 'committing',
};

/** The key-value clients' resent requests: load that reaches no commit. */
export const clientsRetrying: ProgressCounter = {
  members: 'client-', role: 'clients', metric: 'switchyard_client_requests_total', labels: { result: 'retried' }, did: 'retried', doing: 'retrying',
};

/** Hydra's sequencers stamping: the ordering layer still carries traffic. */
export const sequencersStamping: ProgressCounter = {
  members: 'sequencer-', role: 'sequencers', metric: 'switchyard_hydra_stamped_total', labels: {}, did: 'stamped', doing: 'stamping',
};
