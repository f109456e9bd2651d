import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoopback, startMetricsServer, type MetricsServer } from '../../../runtime/observability/index.ts';
import { createTrainingMetrics, MetricsWriter } from '../../../observe/index.ts';
import { temporaryDirectory } from '../../observe/fixtures.ts';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics endpoint', () => {
  it('serves the training metrics a run logs, scraped over HTTP', async () => {
    const registry = new Registry();
    const writer = MetricsWriter.open(temporaryDirectory('scrape'), {
      trainingMetrics: createTrainingMetrics(registry, { run: 'ppo-1' }),
      tensorboard: false,
    });
    writer.append({ step: 1, stage: 'ppo', goldReward: 0.4, kl: 0.01, generatedTokensPerSecond: 500, phaseSeconds: { generate: 1.5 } });
    writer.append({ step: 2, stage: 'ppo', goldReward: 0.5, kl: 0.02, generatedTokensPerSecond: 550, phaseSeconds: { generate: 1.25 } });
    writer.close();
    server = await startMetricsServer({ registry });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('posttrain_training_step{run="ppo-1",stage="ppo"} 2');
    expect(text).toContain('posttrain_training_steps_total{run="ppo-1",stage="ppo"} 2');
    expect(text).toContain('posttrain_gold_reward{run="ppo-1",stage="ppo"} 0.5');
    expect(text).toContain('posttrain_kl{run="ppo-1",stage="ppo"} 0.02');
    expect(text).toContain('posttrain_generated_tokens_per_second{run="ppo-1",stage="ppo"} 550');
    expect(text).toContain('posttrain_phase_seconds_total{run="ppo-1",stage="ppo",phase="generate"} 2.75');
    expect((await fetch(server.url.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('reuses the metrics already on a registry instead of failing on a second helper', () => {
    const registry = new Registry();
    createTrainingMetrics(registry).observe({ step: 1, kl: 0.1 });
    expect(() => createTrainingMetrics(registry).observe({ step: 2, kl: 0.2 })).not.toThrow();
  });

  it('refuses a non-loopback address without a token, before binding anything', async () => {
    await expect(startMetricsServer({ registry: new Registry(), host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'METRICS_UNAUTHENTICATED',
      path: 'host',
    });
    await expect(startMetricsServer({ registry: new Registry(), host: '10.1.2.3', token: '' })).rejects.toMatchObject({
      code: 'METRICS_TOKEN_EMPTY',
    });
  });

  it('requires the bearer token when one is set: none or a wrong one gets 401', async () => {
    const registry = new Registry();
    createTrainingMetrics(registry).observe({ step: 7 });
    server = await startMetricsServer({ registry, token: 's3cret' });
    expect((await fetch(server.url)).status).toBe(401);
    expect((await fetch(server.url, { headers: { Authorization: 'Bearer wrong!' } })).status).toBe(401);
    const ok = await fetch(server.url, { headers: { Authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('posttrain_training_step{run="",stage=""} 7');
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(isLoopback(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) {
      expect(isLoopback(host), host).toBe(false);
    }
  });
});
