import type { HydraParams } from '../../node/hydra/params.js';
import { HydraPaxosSim, defaultPaxosSimOptions } from '../../node/hydrapaxos/simulation.js';
import { plan } from '../../operator/plan/plan.js';
import { parseResource } from '../../operator/schema/resources.js';

/**
 * The simulated testbed of a HydraPaxos SequencerGroup resource, with the parameters the planner
 * gives its loopback members (operator/plan/sequencergroup.ts): the same sequencers, aggregator,
 * flush period and timeouts, so the model runs what `switchyard up` runs. Clients never stop.
 */
export function sequencerGroupSim(resource: Record<string, unknown>, seed: number): HydraPaxosSim {
  const { document } = plan(parseResource(resource));
  const p = (document as { hydra: HydraParams }).hydra;
  if (p.application !== 'hydrapaxos') throw new Error(`not a HydraPaxos SequencerGroup (application ${p.application})`);
  return new HydraPaxosSim({
    ...defaultPaxosSimOptions, seed, application: p.application, requestsPerClient: Infinity, keySpace: p.keySpace,
    sequencers: p.sequencers, groups: p.groups, receiversPerGroup: p.receiversPerGroup, clients: p.clients, multiGroupShare: p.multiGroupShare,
    aggregator: p.aggregator, solicit: p.solicitation, flushIntervalUs: p.flushIntervalMicros, routing: p.routing,
    failureTimeoutUs: p.failureTimeoutMicros, configReplicas: p.configReplicas,
    // As node/wiring/hydra.ts sets a member's timers from the same parameters.
    retryUs: p.clientRetryMicros, syncIntervalUs: p.syncIntervalMicros, viewChangeUs: p.viewChangeMicros, stateRetryUs: p.viewChangeMicros,
    timing: {
      configTickUs: p.configTickMicros, configViewChangeUs: p.configViewChangeMicros, reportGraceUs: p.reportGraceMicros, addTimeoutUs: p.addTimeoutMicros,
      joinRetryUs: p.joinRetryMicros, loadIntervalUs: p.loadIntervalMicros, solicitIntervalUs: p.solicitIntervalMicros, gapWaitUs: p.solicitIntervalMicros,
    },
  });
}
