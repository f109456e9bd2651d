import { Counter, Gauge, type Registry } from 'prom-client';
import type { MetricsRecord } from './formats.ts';

/** Record fields exported as gauges of the same meaning, with their Prometheus names and help. */
const GAUGES = {
  goldReward: ['posttrain_gold_reward', 'Mean gold reward of the latest step'],
  modelReward: ['posttrain_model_reward', 'Mean reward-model score of the latest step'],
  kl: ['posttrain_kl', 'Mean KL(pi || pi_ref) per sequence at the latest step'],
  policyLoss: ['posttrain_policy_loss', 'Policy loss at the latest step'],
  valueLoss: ['posttrain_value_loss', 'Value loss at the latest step'],
  clipFraction: ['posttrain_clip_fraction', 'Fraction of clipped probability ratios at the latest step'],
  entropy: ['posttrain_entropy', 'Mean per-token policy entropy at the latest step'],
  generatedTokensPerSecond: ['posttrain_generated_tokens_per_second', 'Generated tokens per second at the latest step'],
  weightVersion: ['posttrain_weight_version', 'Policy weight version the latest batch was generated with'],
} as const satisfies Partial<Record<keyof MetricsRecord, readonly [string, string]>>;

const LABELS = ['run', 'stage'] as const;

/** Training gauges and counters on one registry; `observe` feeds them one metrics record. */
export interface TrainingMetrics {
  observe(record: MetricsRecord): void;
}

/**
 * Register training metrics on `registry`: `posttrain_training_step`, `posttrain_training_steps_total`, one gauge per
 * headline field (gold/model reward, KL, losses, clip fraction, entropy, tokens/s, weight version) and
 * `posttrain_phase_seconds{phase}` / `posttrain_phase_seconds_total{phase}`, all labelled with `run` and `stage`
 * (a record's own `stage`, else `options.stage`).
 * Calling it twice on one registry reuses the metrics already there.
 *
 * @example
 * const metrics = createTrainingMetrics(registry, { run: 'ppo-1' });
 * metrics.observe({ step: 3, goldReward: 0.5, kl: 0.01 });
 */
export function createTrainingMetrics(registry: Registry, options: { run?: string; stage?: string } = {}): TrainingMetrics {
  const gauge = (name: string, help: string, labelNames: readonly string[] = LABELS): Gauge =>
    (registry.getSingleMetric(name) as Gauge | undefined) ??
    new Gauge({ name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: readonly string[] = LABELS): Counter =>
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, labelNames, registers: [registry] });

  const step = gauge('posttrain_training_step', 'Latest training step');
  const steps = counter('posttrain_training_steps_total', 'Training steps completed');
  const fields = Object.entries(GAUGES).map(([field, [name, help]]) => [field, gauge(name, help)] as const);
  const phase = gauge('posttrain_phase_seconds', 'Seconds spent in each phase of the latest step', [...LABELS, 'phase']);
  const phaseTotal = counter('posttrain_phase_seconds_total', 'Seconds spent in each phase, all steps', [
    ...LABELS,
    'phase',
  ]);

  return {
    observe(record) {
      const labels = { run: options.run ?? '', stage: record.stage ?? options.stage ?? '' };
      step.set(labels, record.step);
      steps.inc(labels);
      for (const [field, metric] of fields) {
        const value = record[field];
        if (typeof value === 'number' && Number.isFinite(value)) metric.set(labels, value);
      }
      for (const [name, seconds] of Object.entries(record.phaseSeconds ?? {})) {
        if (!Number.isFinite(seconds) || seconds < 0) continue;
        phase.set({ ...labels, phase: name }, seconds);
        phaseTotal.inc({ ...labels, phase: name }, seconds);
      }
    },
  };
}
