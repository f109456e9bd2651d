#!/usr/bin/env python3
"""Drives the real Optuna for posttrain's interop tests. Every command prints one JSON document on stdout.

  availability                      -> {"optuna": version}
  dump URL STUDY [--v320]           -> every trial as Optuna reads it, the best trial, the alembic stamp
  run URL STUDY N [--create] [--v320] -> Optuna runs N trials (random sampler, reports, user attrs; every 4th
                                       trial pruned, every 7th failed) and enqueues one trial; --create makes
                                       the study first
  upgrade URL                       -> `optuna storage upgrade` to v3.2.0.a
  schema URL                        -> sqlite_master rows
  prune SCENARIO_JSON               -> Optuna's pruner decisions for a scripted sequence of trials
  tpe-split URL STUDY PARAM [--v320] -> numbers of the trials TPE puts in its "good" group for PARAM
  parzen CASES_JSON                 -> Optuna's Parzen-estimator components and log densities for given observations

--v320 teaches this Optuna (3.0/3.1) the one migration that Optuna 3.2 added (an index on trials.study_id), by
pointing its alembic script directory at a copy that holds that revision: the storage code is otherwise the
same, so this is how Optuna >= 3.2 reads a v3.2.0.a database.
"""
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile

import optuna
from optuna.storages._rdb import storage as rdb_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)

V320_REVISION = '''"""Index trials.study_id (the revision Optuna 3.2 ships).

Revision ID: v3.2.0.a
Revises: v3.0.0.d
"""
from alembic import op

revision = "v3.2.0.a"
down_revision = "v3.0.0.d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f("trials_study_id_key"), "trials", ["study_id"], unique=False)


def downgrade():
    op.drop_index(op.f("trials_study_id_key"), table_name="trials")
'''


def teach_v320():
    source = os.path.join(os.path.dirname(rdb_storage.__file__), "alembic")
    target = os.path.join(tempfile.mkdtemp(), "alembic")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(target, "versions", "v3.2.0.a_.py"), "w") as handle:
        handle.write(V320_REVISION)
    original = rdb_storage._VersionManager._create_alembic_config

    def create_config(self):
        config = original(self)
        config.set_main_option("script_location", rdb_storage.escape_alembic_config_value(target))
        return config

    rdb_storage._VersionManager._create_alembic_config = create_config


def number(value):
    """JSON-safe float: NaN and infinities as strings."""
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def trial_to_json(trial):
    return {
        "number": trial.number,
        "state": trial.state.name,
        "values": None if trial.values is None else [number(v) for v in trial.values],
        "params": trial.params,
        "distributions": {k: optuna.distributions.distribution_to_json(d) for k, d in trial.distributions.items()},
        "intermediate_values": [[step, number(v)] for step, v in sorted(trial.intermediate_values.items())],
        "user_attrs": trial.user_attrs,
        "system_attrs": trial.system_attrs,
        "has_start": trial.datetime_start is not None,
        "has_complete": trial.datetime_complete is not None,
    }


def dump(url, study_name):
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(study_name=study_name, storage=storage)
    try:
        best = study.best_trial.number
    except ValueError:
        best = None
    return {
        "optuna": optuna.__version__,
        "revision": storage.get_current_version(),
        "directions": [d.name for d in study.directions],
        "user_attrs": study.user_attrs,
        "best": best,
        "trials": [trial_to_json(t) for t in study.trials],
    }


def objective(trial):
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    layers = trial.suggest_int("layers", 1, 8)
    batch = trial.suggest_int("batch", 16, 128, step=16)
    optimizer = trial.suggest_categorical("optimizer", ["adam", "sgd", None, 3])
    dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
    trial.set_user_attr("written_by", "optuna")
    trial.set_user_attr("config", {"layers": layers, "tags": ["a", "b"]})
    value = math.log10(lr) ** 2 + layers * 0.1 + batch / 1000 + dropout + (0.5 if optimizer == "sgd" else 0.0)
    for step in range(4):
        trial.report(value + (3 - step) * 0.1, step)
    if trial.number % 4 == 3:
        raise optuna.TrialPruned()
    if trial.number % 7 == 6:
        raise RuntimeError("simulated failure")
    return value


def run(url, study_name, n_trials, create):
    if create:
        study = optuna.create_study(storage=url, study_name=study_name, direction="minimize",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        study.set_user_attr("owner", "optuna")
    else:
        study = optuna.load_study(storage=url, study_name=study_name, sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=n_trials, catch=(RuntimeError,))
    study.enqueue_trial({"lr": 0.001, "layers": 2, "optimizer": "adam"}, user_attrs={"memo": "enqueued by optuna"})
    return dump(url, study_name)


def upgrade(url):
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True)
    storage.upgrade()
    return {"revision": storage.get_current_version()}


def schema(url):
    path = url[len("sqlite:///"):]
    connection = sqlite3.connect(path)
    rows = connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").fetchall()
    return {"rows": [list(row) for row in rows]}


def make_pruner(spec):
    kind = spec["kind"]
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.get("nStartupTrials", 5), n_warmup_steps=spec.get("nWarmupSteps", 0), interval_steps=spec.get("intervalSteps", 1))
    if kind == "successiveHalving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.get("minResource", "auto"), reduction_factor=spec.get("reductionFactor", 4))
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=spec.get("minResource", 1), max_resource=spec.get("maxResource", "auto"), reduction_factor=spec.get("reductionFactor", 3))
    raise ValueError(kind)


def prune(scenario_path):
    """Runs each curve in turn: report every step, stop at the first prune decision, else complete."""
    with open(scenario_path) as handle:
        scenario = json.load(handle)
    study = optuna.create_study(study_name=scenario["studyName"], direction=scenario["direction"], pruner=make_pruner(scenario["pruner"]))
    decisions = []
    for curve in scenario["curves"]:
        trial = study.ask()
        pruned_at = None
        for step, value in enumerate(curve):
            trial.report(value, step)
            if trial.should_prune():
                pruned_at = step
                break
        if pruned_at is None:
            study.tell(trial, curve[-1])
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        frozen = study.trials[-1]
        decisions.append({"prunedAt": pruned_at, "state": frozen.state.name, "value": number(frozen.value),
                          "rungs": {k: v for k, v in frozen.system_attrs.items() if k.startswith("completed_rung_")}})
    return {"decisions": decisions}


def parzen(cases_path):
    """Mixture components and log densities of Optuna's univariate Parzen estimator (TPE defaults).

    Continuous densities are recomputed from the components with the truncated normal's -log(scale) term, which
    Optuna >= 3.2 includes and 3.1's `_truncnorm.logpdf` lacked; grid (stepped) and categorical densities are
    Optuna's own `log_pdf`.
    """
    import numpy as np
    from optuna.samplers._tpe import _truncnorm
    from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
    from optuna.samplers._tpe.sampler import default_weights

    with open(cases_path) as handle:
        cases = json.load(handle)
    parameters = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, False)
    results = []
    for case in cases:
        distribution = optuna.distributions.json_to_distribution(case["distribution"])
        estimator = _ParzenEstimator({"x": np.asarray(case["observations"], dtype=float)}, {"x": distribution}, parameters)
        points = np.asarray(case["points"], dtype=float)
        continuous = isinstance(distribution, optuna.distributions.FloatDistribution) and (distribution.log or distribution.step is None) or (
            isinstance(distribution, optuna.distributions.IntDistribution) and distribution.log)
        if continuous:
            mus, sigmas = estimator._mus["x"], estimator._sigmas["x"]
            low, high = estimator._low["x"], estimator._high["x"]
            x = np.log(points) if distribution.log else points
            component = _truncnorm.logpdf(x[:, None], (low - mus) / sigmas, (high - mus) / sigmas, loc=mus, scale=sigmas) - np.log(sigmas)
            weighted = component + np.log(estimator._weights)
            top = weighted.max(axis=1)
            log_pdf = np.log(np.exp(weighted - top[:, None]).sum(axis=1)) + top
        elif isinstance(distribution, optuna.distributions.CategoricalDistribution):
            log_pdf = estimator.log_pdf({"x": points.astype(int)})
        else:
            log_pdf = estimator.log_pdf({"x": points})
        mus = estimator._mus["x"]
        results.append({
            "weights": estimator._weights.tolist(),
            "mus": None if mus is None else mus.tolist(),
            "sigmas": None if mus is None else estimator._sigmas["x"].tolist(),
            "logPdf": log_pdf.tolist(),
        })
    return {"results": results}


def tpe_split(url, study_name, param):
    from optuna.samplers._tpe.sampler import _get_observation_pairs, _split_observation_pairs, default_gamma

    study = optuna.load_study(study_name=study_name, storage=url)
    values, scores, violations = _get_observation_pairs(study, [param])
    numbers = [t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
               if not (t.state == optuna.trial.TrialState.COMPLETE and t.values is None)]
    below, _ = _split_observation_pairs(scores, default_gamma(len(scores)), violations)
    return {"below": sorted(numbers[i] for i in below)}


def main(argv):
    if "--v320" in argv:
        argv = [a for a in argv if a != "--v320"]
        teach_v320()
    command = argv[0]
    if command == "availability":
        result = {"optuna": optuna.__version__}
    elif command == "dump":
        result = dump(argv[1], argv[2])
    elif command == "run":
        result = run(argv[1], argv[2], int(argv[3]), "--create" in argv)
    elif command == "upgrade":
        teach_v320()
        result = upgrade(argv[1])
    elif command == "schema":
        result = schema(argv[1])
    elif command == "prune":
        result = prune(argv[1])
    elif command == "tpe-split":
        result = tpe_split(argv[1], argv[2], argv[3])
    elif command == "parzen":
        result = parzen(argv[1])
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
