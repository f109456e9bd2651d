"""Make a real Optuna study for the report and status tests: a maximised simulated PPO sweep with a median pruner,
so the database holds COMPLETE, PRUNED, FAIL, RUNNING and WAITING trials, float (log and linear), int and
categorical parameters, intermediate values and a `release_ms` user attribute on pruned trials.
Usage: python3 optuna-study.py DB_PATH [STUDY_NAME]"""
import math
import sys

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
db_path = sys.argv[1]
study_name = sys.argv[2] if len(sys.argv) > 2 else "ppo-sweep"
study = optuna.create_study(
    storage="sqlite:///" + db_path,
    study_name=study_name,
    direction="maximize",
    sampler=optuna.samplers.RandomSampler(seed=7),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=3),
)


def objective(trial):
    learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True)
    kl_coef = trial.suggest_float("kl_coef", 0.01, 0.2)
    batch_size = trial.suggest_int("batch_size", 8, 64, step=8)
    optimizer = trial.suggest_categorical("optimizer", ["adam", "adamw", "sgd"])
    if optimizer == "sgd" and batch_size == 8:
        raise ValueError("simulated crash")
    ceiling = 0.9 - 2.0 * kl_coef - (0.15 if optimizer == "sgd" else 0.0)
    speed = learning_rate * 4000 * (batch_size / 32) ** 0.5
    value = 0.0
    for step in range(1, 13):
        value = 0.3 + (ceiling - 0.3) * (1 - math.exp(-speed * step / 4))
        trial.report(value, step)
        if trial.should_prune():
            trial.set_user_attr("release_ms", 40.0 + 3.5 * trial.number)
            raise optuna.TrialPruned()
    return value


study.optimize(objective, n_trials=14, catch=(ValueError,))
# A crash that the objective does not catch still leaves a FAIL trial.
failed = study.ask({"learning_rate": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)})
study.tell(failed, state=optuna.trial.TrialState.FAIL)
# One trial still running (asked, reported twice, never told) and one waiting in the queue.
running = study.ask()
running.suggest_float("learning_rate", 1e-5, 1e-3, log=True)
running.suggest_float("kl_coef", 0.01, 0.2)
running.report(0.35, 1)
running.report(0.41, 2)
study.enqueue_trial({"learning_rate": 3e-4, "kl_coef": 0.05, "batch_size": 32, "optimizer": "adamw"})
best = study.best_trial
print(f"{best.number} {best.value!r}")
