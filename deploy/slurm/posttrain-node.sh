#!/usr/bin/env bash
# One posttrain node agent on this node of a Slurm allocation; posttrain.sbatch starts one per node with
# `srun --ntasks-per-node=1`. What the node offers comes from what Slurm granted the job on it, never from the
# whole machine (other jobs may share it):
#   CPU     SLURM_CPUS_ON_NODE
#   GPU     the gres binding: Slurm sets CUDA_VISIBLE_DEVICES to the job's GPUs and the agent counts them (and pins
#           each GPU actor to its own); no gres, no GPUs, whatever the machine has
#   memory  SLURM_MEM_PER_NODE (MB), when the cluster schedules memory
#   name    SLURMD_NODENAME, so that a recipe can pin a role with the resource `node:<Slurm node name>`
# Usage: posttrain-node.sh <head host:port>   (POSTTRAIN_TOKEN in the environment, as srun passes it on)
set -euo pipefail
head_address=${1:?usage: posttrain-node.sh <head host:port>}
recipe_command=${POSTTRAIN_RECIPE_COMMAND:-npx recipe}

# This agent and its workers take Slurm's SIGTERM as the driver's stop notice (runtime/cluster/slurm-signals.ts).
export POSTTRAIN_SLURM_JOB=${SLURM_JOB_ID:-}
export POSTTRAIN_NODE_NAME=${SLURMD_NODENAME:-$(hostname -s)}
# A placement group's own job (runtime/cluster/slurm-placement.ts) may share a node with another agent of the
# same cluster: its agents are named <node>-job<id>.
[ "${POSTTRAIN_NODE_PER_JOB:-}" = 1 ] && POSTTRAIN_NODE_NAME=$POSTTRAIN_NODE_NAME-job$SLURM_JOB_ID
[ -n "${SLURM_CPUS_ON_NODE:-}" ] && export POSTTRAIN_NODE_CPUS=$SLURM_CPUS_ON_NODE
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
  # CUDA_VISIBLE_DEVICES=0,2 -> 2 GPUs; the agent maps them to its GPU actors itself.
  IFS=, read -r -a granted <<<"$CUDA_VISIBLE_DEVICES"
  export POSTTRAIN_NODE_GPUS=${#granted[@]}
else
  export POSTTRAIN_NODE_GPUS=0
fi
[ -n "${SLURM_MEM_PER_NODE:-}" ] && export POSTTRAIN_NODE_MEMORY=$((SLURM_MEM_PER_NODE * 1024 * 1024))

# shellcheck disable=SC2086 # POSTTRAIN_RECIPE_COMMAND may be a command with arguments ("node bin/recipe.js")
exec $recipe_command cluster join "$head_address"
