import type { Resource } from '../schema/resources.js';
import { planBftCluster } from './bftcluster.js';
import { planMigratingService } from './migratingservice.js';
import { planSequencerGroup } from './sequencergroup.js';
import type { Plan } from './types.js';

/** One plan, two materializations: the operator and the local runner both start from here. */
export function plan(resource: Resource): Plan {
  switch (resource.kind) {
    case 'SequencerGroup':
      return planSequencerGroup(resource);
    case 'BFTCluster':
      return planBftCluster(resource);
    case 'MigratingService':
      return planMigratingService(resource);
  }
}
