/**
 * The leader rule of every view-based protocol here: the leader (primary) of view v is replica
 * v mod n, round-robin by replica number (Viewstamped Replication Revisited §4; NOPaxos,
 * OSDI'16, and PBFT, OSDI'99, choose their leaders and primaries the same way).
 */
export function leaderOf(view: number, replicas: number): number {
  if (!Number.isInteger(view) || view < 0) throw new Error(`a view is a non-negative integer, not ${view}`);
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`a group needs at least one replica, not ${replicas}`);
  return view % replicas;
}
