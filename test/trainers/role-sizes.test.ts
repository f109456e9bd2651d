/**
 * Role sizes are decided once, from `runtime.roles`, per method: unknown role names are errors that list the
 * method's roles, a frozen role asked for more than one rank says why, and rollout workers follow the policy's
 * ranks unless their own entry sets a size (an entry with only resources keeps the default).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import { parseDpoConfig, parseGrpoConfig, parsePpoConfig, parseRewardConfig, parseSftConfig, planRecipe } from '../../trainers/index.ts';

const task = { name: 'sentiment' as const };
const init = { policy: 'runs/x/sft/model', reward: 'runs/x/reward/model' };

function issuesOf(parse: () => unknown): { path: string; message: string }[] {
  try {
    parse();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('runtime.roles is checked against the method and resolved in one place', () => {
  it('rejects a misspelt role, naming the method and its roles', () => {
    expect(issuesOf(() => parsePpoConfig({ task, init, runtime: { roles: { polciy: { groupSize: 2 } } } }))).toEqual([
      { path: 'runtime.roles.polciy', message: 'unknown role "polciy": the ppo trainer\'s roles are policy, reference, reward, value, rollout' },
    ]);
  });

  it('allows each method only its own roles', () => {
    expect(issuesOf(() => parseDpoConfig({ task, init: { policy: init.policy }, runtime: { roles: { value: { groupSize: 2 } } } }))[0]).toMatchObject({
      path: 'runtime.roles.value',
      message: expect.stringContaining("the dpo trainer's roles are policy, reference, rollout"),
    });
    expect(issuesOf(() => parseRewardConfig({ task, runtime: { roles: { policy: {} } } }))[0]!.message).toContain("the reward trainer's roles are reward");
    expect(issuesOf(() => parseGrpoConfig({ task, init, runtime: { roles: { value: {} } } }))[0]!.path).toBe('runtime.roles.value');
  });

  it('says why a frozen role runs one rank instead of forcing it silently', () => {
    expect(issuesOf(() => parsePpoConfig({ task, init, runtime: { roles: { reference: { groupSize: 2 } } } }))).toEqual([
      { path: 'runtime.roles.reference.groupSize', message: 'groupSize 2 cannot be used: reference is frozen (it takes no optimizer steps), so it runs one rank that scores every rollout shard; leave it out or set 1' },
    ]);
    expect(issuesOf(() => parseSftConfig({ task, runtime: { roles: { rollout: { groupSize: 2 } } } }))[0]!.message).toContain('SFT samples only for its final evaluation');
  });

  it('gives rollout workers the policy ranks by default, also when their entry only sets resources', () => {
    const config = parsePpoConfig({ task, init, runtime: { roles: { policy: { groupSize: 2 }, rollout: { resources: { CPU: 0.5 } } } } });
    expect(config.runtime.roles.rollout).toEqual({ groupSize: 2, resources: { CPU: 0.5 }, spares: 0 });
    expect(config.runtime.roles.reference).toEqual({ groupSize: 1, spares: 0 });
    expect(config.runtime.roles.value).toEqual({ groupSize: 1, spares: 0 });
    expect(parsePpoConfig({ task, init, runtime: { roles: { policy: { groupSize: 2 }, rollout: { groupSize: 1 } } } }).runtime.roles.rollout!.groupSize).toBe(1);
  });

  it('resolves the same sizes when a run is resumed from its written config', () => {
    const config = parseGrpoConfig({ task, init, runtime: { roles: { policy: { groupSize: 2, spares: 1 } } } });
    const { derived: _derived, ...written } = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
    expect(parseGrpoConfig(written).runtime.roles).toEqual(config.runtime.roles);
  });

  it("in a recipe, the shared runtime.roles reaches each stage's own roles and rejects roles no stage has", () => {
    const recipe = { name: 'r', task, runtime: { roles: { policy: { groupSize: 2 }, value: { groupSize: 2 } } }, stages: { sft: {}, reward: {}, ppo: {} } };
    const plan = planRecipe(recipe);
    const sizes = Object.fromEntries(plan.stages.map((stage) => [stage.stage, (stage.config.runtime as { roles: Record<string, { groupSize: number }> }).roles]));
    expect(Object.keys(sizes.sft!)).toEqual(['policy', 'rollout']);
    expect(Object.keys(sizes.reward!)).toEqual(['reward']);
    expect(sizes.ppo!.value!.groupSize).toBe(2);
    expect(sizes.ppo!.rollout!.groupSize).toBe(2);
    expect(issuesOf(() => planRecipe({ ...recipe, stages: { sft: {}, dpo: {} } }))).toEqual([
      { path: 'runtime.roles.value', message: 'unknown role "value": this recipe\'s stages (sft, dpo) have the roles policy, rollout, reference' },
    ]);
  });
});
