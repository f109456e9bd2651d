/**
 * A model role that reads the task's own data: its tokenizer, its SFT examples and its preference pairs. The
 * policy, the reference and the reward model are such roles; the value model only scores experience.
 */
import { tokenizerOf } from '../../models/model-spec.ts';
import { createTask, isPreferenceTask, type PreferencePair, type Task, type TaskConfig } from '../../models/tasks/index.ts';
import { PosttrainError } from '../../runtime/errors.ts';
import { ModelRole, type ModelRoleInit } from './model-role.ts';

/** A task role's start: the model role's, and the task it reads (built with the model's tokenizer). */
export interface TaskRoleInit extends ModelRoleInit {
  task: TaskConfig;
}

export class TaskRole extends ModelRole {
  protected readonly task: Task;

  constructor(init: TaskRoleInit) {
    super(init);
    this.task = createTask(init.task, tokenizerOf(init.model));
  }

  /**
   * The task's preference pairs `indices`, each label flipped with probability `labelNoise`. A task without
   * pairs is an error; `needs` (e.g. "DPO needs a preference task ...") ends its message with what to do.
   */
  protected taskPairs(indices: Int32Array, labelNoise: number, needs?: string): PreferencePair[] {
    const task = this.task;
    if (!isPreferenceTask(task)) {
      throw new PosttrainError('TASK_NOT_PREFERENCE', `task ${task.name} has no preference pairs${needs ? `; ${needs}` : ''}`, { path: 'task.name' });
    }
    return Array.from(indices, (index) => task.preferencePair(index, { labelNoise }));
  }
}
