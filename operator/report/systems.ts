import type { Plan } from '../plan/types.js';
import { bftReport } from './bft.js';
import { capybaraReport } from './capybara.js';
import { hydraPaxosReport, hydraTxnReport } from './hydra-apps.js';
import { hydraReport } from './hydra.js';
import type { SystemReport } from './system-report.js';

/** The report of the system a plan runs. */
export function reportFor(plan: Plan): SystemReport {
  if (plan.document.system === 'hydra') {
    const app = plan.document.hydra.application;
    return app === 'hydrapaxos' ? hydraPaxosReport : app === 'hydratxn' ? hydraTxnReport : hydraReport;
  }
  return plan.document.system === 'capybara' ? capybaraReport : bftReport;
}
