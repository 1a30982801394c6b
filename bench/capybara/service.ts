/** A MigratingService resource of `seconds`: these spec fields, and a workload over the defaults of 2 clients × 100 connections. */
export function service(name: string, seconds: number, spec: Record<string, unknown>, workload: Record<string, unknown>) {
  return {
    apiVersion: 'switchyard.dev/v1alpha1', kind: 'MigratingService', metadata: { name },
    spec: { ...spec, workload: { clients: 2, connectionsPerClient: 100, durationSeconds: seconds, ...workload } },
  };
}
