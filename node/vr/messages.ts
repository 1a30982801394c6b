/**
 * Viewstamped Replication messages (Liskov & Cowling, "Viewstamped Replication Revisited",
 * 2012): normal operation §4.1 (PREPARE, PREPAREOK, COMMIT), view change §4.2
 * (STARTVIEWCHANGE, DOVIEWCHANGE, STARTVIEW), recovery §4.3 (RECOVERY, RECOVERYRESPONSE),
 * state transfer §5.2 (GETSTATE, NEWSTATE). REQUEST is a command a backup forwards to the
 * primary (§4.1 has clients send to the primary; a backup that was asked redirects it).
 * `replica` fields are indexes into the replica group (0..n-1); views and op-numbers are u32.
 *
 * Logs travel as a snapshot plus a suffix (§5.1 keeps a checkpoint of the application state
 * and discards the log before it): `state` is the state machine after ops 1..`commit`, `ops`
 * are the prepared ops `commit`+1, `commit`+2, … after it.
 */
export interface VrLog<S, C> {
  commit: number;
  state: S;
  ops: C[];
}

export interface VrPrepare<C> { type: 'vr-prepare'; view: number; op: number; command: C; commit: number }
export interface VrPrepareOk { type: 'vr-prepare-ok'; view: number; op: number; replica: number }
export interface VrCommit { type: 'vr-commit'; view: number; commit: number }
export interface VrStartViewChange { type: 'vr-start-view-change'; view: number; replica: number }
export interface VrDoViewChange<S, C> { type: 'vr-do-view-change'; view: number; lastNormal: number; log: VrLog<S, C>; replica: number }
export interface VrStartView<S, C> { type: 'vr-start-view'; view: number; log: VrLog<S, C> }
export interface VrRecovery { type: 'vr-recovery'; replica: number; nonce: number }
/**
 * A normal replica's answer carries its view (and, from the primary, its log). A replica that is
 * itself recovering answers `recovering: true`: f+1 replicas all recovering with nothing can only
 * be the group's first start, which they then begin from the initial state (see replica.ts).
 */
export interface VrRecoveryResponse<S, C> {
  type: 'vr-recovery-response'; view: number; nonce: number; replica: number; recovering: boolean; log: VrLog<S, C> | null;
}
export interface VrGetState { type: 'vr-get-state'; view: number; op: number; replica: number }
export interface VrNewState<S, C> { type: 'vr-new-state'; view: number; log: VrLog<S, C> }
export interface VrRequest<C> { type: 'vr-request'; command: C }

export type VrMsg<S, C> =
  | VrPrepare<C>
  | VrPrepareOk
  | VrCommit
  | VrStartViewChange
  | VrDoViewChange<S, C>
  | VrStartView<S, C>
  | VrRecovery
  | VrRecoveryResponse<S, C>
  | VrGetState
  | VrNewState<S, C>
  | VrRequest<C>;

export const VR_TYPES = [
  'vr-prepare', 'vr-prepare-ok', 'vr-commit', 'vr-start-view-change', 'vr-do-view-change', 'vr-start-view', 'vr-recovery',
  'vr-recovery-response', 'vr-get-state', 'vr-new-state', 'vr-request',
] as const;

export const isVrMsg = <S, C>(m: { type: string }): m is VrMsg<S, C> => (VR_TYPES as readonly string[]).includes(m.type);
