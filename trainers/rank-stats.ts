/**
 * Roles report each rank's share of a step's statistics (already weighted by the rank's share of tokens or rows),
 * so the step's figure is the sum over ranks. Figures every rank computes identically after the allreduce (the
 * gradient norm) are taken from rank 0 instead.
 */
export function sumOverRanks<T extends object>(perRank: readonly T[], identicalOnEveryRank: readonly (keyof T & string)[] = []): Record<keyof T & string, number> {
  const totals: Record<string, number> = {};
  for (const [rank, stats] of perRank.entries()) {
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value !== 'number') continue;
      if ((identicalOnEveryRank as readonly string[]).includes(key)) {
        if (rank === 0) totals[key] = value;
      } else {
        totals[key] = (totals[key] ?? 0) + value;
      }
    }
  }
  return totals as Record<keyof T & string, number>;
}
