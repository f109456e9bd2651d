/**
 * What SIGTERM means inside a Slurm job. A plain `scancel`, the time limit and a preemption without a user signal
 * make slurmstepd send SIGTERM to every process of the job at once: the batch script, the head and the driver it
 * started, every `srun` step's tasks (the node agents) and their children (the actor workers), then SIGKILL to
 * whatever is left after the cluster's `KillWait` (slurm.conf, default 30 s). If each process stopped at the
 * SIGTERM, the driver's step in flight would die with its workers and a resume would start from an older
 * checkpoint. So inside a job SIGTERM is a stop notice for the driver alone (it finishes its step, checkpoints and
 * exits, trainers/run-session.ts), and the processes serving it keep serving until it is done:
 *
 * - an actor worker ignores it (its node agent kills it with SIGKILL when its actor is removed or the agent stops);
 * - a node agent stops once no actor runs on it any more: the driver removes its roles when it has checkpointed;
 * - the head keeps serving until SIGINT, which `deploy/slurm/posttrain.sbatch` sends once the driver has exited.
 *
 * What does not fit in `KillWait` is SIGKILLed: the step in flight is lost and `recipe resume` continues from the
 * newest complete checkpoint (a half-written one is never read back). SIGINT still stops every process at once.
 *
 * Only processes that posttrain's Slurm scripts started behave so: `deploy/slurm/posttrain.sbatch` and
 * `posttrain-node.sh` (also the agents of a placement group's own job) export POSTTRAIN_SLURM_JOB with the job id,
 * and children inherit it. A head or agent a user starts by hand inside `salloc` or `srun` has SLURM_JOB_ID but not
 * that, and stops at SIGTERM as everywhere else.
 *
 * @example
 * if (insideSlurmJob()) process.on('SIGTERM', () => logger.info("Slurm's SIGTERM: serving until the driver is done"));
 */
export function insideSlurmJob(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.SLURM_JOB_ID ?? '') !== '' && env.POSTTRAIN_SLURM_JOB === env.SLURM_JOB_ID;
}
