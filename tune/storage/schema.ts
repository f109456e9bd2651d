import type { Database } from 'better-sqlite3';
import { StudyStorageError } from '../errors.ts';

/**
 * Optuna's RDB schema (SCHEMA_VERSION 12), written with the exact DDL text SQLAlchemy emits for Optuna's models so
 * that `sqlite_master` of a posttrain database matches one created by Optuna itself.
 *
 * Alembic revisions we understand:
 * - `v3.0.0.d`: Optuna 3.0 and 3.1 (Debian bookworm's python3-optuna). No index on `trials.study_id`.
 * - `v3.2.0.a`: Optuna 3.2 and later. Adds an index on `trials.study_id` (`ix_trials_study_id` when the database
 *   is created fresh, `trials_study_id_key` when an older database was upgraded by `optuna storage upgrade`).
 *
 * Existing databases keep their revision: we never migrate, so the Optuna that made a database can still open it.
 */

/** The alembic revisions posttrain can read and write. */
export type OptunaSchemaRevision = 'v3.0.0.d' | 'v3.2.0.a';
export const SUPPORTED_REVISIONS: readonly OptunaSchemaRevision[] = ['v3.0.0.d', 'v3.2.0.a'];
/** What a new database is stamped with unless asked otherwise: the current Optuna schema. */
export const DEFAULT_REVISION: OptunaSchemaRevision = 'v3.2.0.a';
export const SCHEMA_VERSION = 12;

/** `version_info.library_version` for a database we create: the Optuna release whose schema it holds. */
const LIBRARY_VERSION: Record<OptunaSchemaRevision, string> = { 'v3.0.0.d': '3.1.0', 'v3.2.0.a': '3.2.0' };

/** SQLAlchemy's CREATE TABLE layout: a tab before each item, `, \n` between them. */
const table = (name: string, items: string[]): string => `CREATE TABLE ${name} (\n\t${items.join(', \n\t')}\n)`;

const attributeTable = (name: string, idColumn: string, owner: 'study' | 'trial'): string =>
  table(name, [
    `${idColumn} INTEGER NOT NULL`,
    `${owner}_id INTEGER`,
    '"key" VARCHAR(512)',
    'value_json TEXT',
    `PRIMARY KEY (${idColumn})`,
    `UNIQUE (${owner}_id, "key")`,
    `FOREIGN KEY(${owner}_id) REFERENCES ${owner === 'study' ? 'studies (study_id)' : 'trials (trial_id)'}`,
  ]);

/** DDL in the order Optuna's `metadata.create_all` runs it (indexes right after their table). */
function schemaStatements(revision: OptunaSchemaRevision): string[] {
  return [
    table('studies', ['study_id INTEGER NOT NULL', 'study_name VARCHAR(512) NOT NULL', 'PRIMARY KEY (study_id)']),
    'CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name)',
    table('version_info', [
      'version_info_id INTEGER NOT NULL',
      'schema_version INTEGER',
      'library_version VARCHAR(256)',
      'PRIMARY KEY (version_info_id)',
      'CHECK (version_info_id=1)',
    ]),
    table('study_directions', [
      'study_direction_id INTEGER NOT NULL',
      'direction VARCHAR(8) NOT NULL',
      'study_id INTEGER NOT NULL',
      'objective INTEGER NOT NULL',
      'PRIMARY KEY (study_direction_id)',
      'UNIQUE (study_id, objective)',
      'FOREIGN KEY(study_id) REFERENCES studies (study_id)',
    ]),
    attributeTable('study_user_attributes', 'study_user_attribute_id', 'study'),
    attributeTable('study_system_attributes', 'study_system_attribute_id', 'study'),
    table('trials', [
      'trial_id INTEGER NOT NULL',
      'number INTEGER',
      'study_id INTEGER',
      'state VARCHAR(8) NOT NULL',
      'datetime_start DATETIME',
      'datetime_complete DATETIME',
      'PRIMARY KEY (trial_id)',
      'FOREIGN KEY(study_id) REFERENCES studies (study_id)',
    ]),
    ...(revision === 'v3.2.0.a' ? ['CREATE INDEX ix_trials_study_id ON trials (study_id)'] : []),
    attributeTable('trial_user_attributes', 'trial_user_attribute_id', 'trial'),
    attributeTable('trial_system_attributes', 'trial_system_attribute_id', 'trial'),
    table('trial_params', [
      'param_id INTEGER NOT NULL',
      'trial_id INTEGER',
      'param_name VARCHAR(512)',
      'param_value FLOAT',
      'distribution_json TEXT',
      'PRIMARY KEY (param_id)',
      'UNIQUE (trial_id, param_name)',
      'FOREIGN KEY(trial_id) REFERENCES trials (trial_id)',
    ]),
    table('trial_values', [
      'trial_value_id INTEGER NOT NULL',
      'trial_id INTEGER NOT NULL',
      'objective INTEGER NOT NULL',
      'value FLOAT',
      'value_type VARCHAR(7) NOT NULL',
      'PRIMARY KEY (trial_value_id)',
      'UNIQUE (trial_id, objective)',
      'FOREIGN KEY(trial_id) REFERENCES trials (trial_id)',
    ]),
    table('trial_intermediate_values', [
      'trial_intermediate_value_id INTEGER NOT NULL',
      'trial_id INTEGER NOT NULL',
      'step INTEGER NOT NULL',
      'intermediate_value FLOAT',
      'intermediate_value_type VARCHAR(7) NOT NULL',
      'PRIMARY KEY (trial_intermediate_value_id)',
      'UNIQUE (trial_id, step)',
      'FOREIGN KEY(trial_id) REFERENCES trials (trial_id)',
    ]),
    table('trial_heartbeats', [
      'trial_heartbeat_id INTEGER NOT NULL',
      'trial_id INTEGER NOT NULL',
      'heartbeat DATETIME NOT NULL',
      'PRIMARY KEY (trial_heartbeat_id)',
      'UNIQUE (trial_id)',
      'FOREIGN KEY(trial_id) REFERENCES trials (trial_id)',
    ]),
    // Written by alembic's `stamp`, not by Optuna's models.
    table('alembic_version', ['version_num VARCHAR(32) NOT NULL', 'CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)']),
  ];
}

/** Every table Optuna's storage reads or writes. */
export const OPTUNA_TABLES = [
  'studies',
  'version_info',
  'study_directions',
  'study_user_attributes',
  'study_system_attributes',
  'trials',
  'trial_user_attributes',
  'trial_system_attributes',
  'trial_params',
  'trial_values',
  'trial_intermediate_values',
  'trial_heartbeats',
  'alembic_version',
] as const;

/**
 * Creates Optuna's schema in an empty database, or checks an existing one; returns the database's revision.
 * Runs inside one IMMEDIATE transaction so that processes opening a fresh file at once create it exactly once.
 */
export function ensureSchema(db: Database, revisionForNew: OptunaSchemaRevision, location: string): OptunaSchemaRevision {
  return db.transaction((): OptunaSchemaRevision => {
    const existing = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name),
    );
    if (existing.size === 0) {
      for (const statement of schemaStatements(revisionForNew)) db.exec(statement);
      db.prepare('INSERT INTO version_info (version_info_id, schema_version, library_version) VALUES (1, ?, ?)').run(
        SCHEMA_VERSION,
        LIBRARY_VERSION[revisionForNew],
      );
      db.prepare('INSERT INTO alembic_version (version_num) VALUES (?)').run(revisionForNew);
      return revisionForNew;
    }
    return checkExistingSchema(db, location, existing);
  }).immediate();
}

/**
 * Checks, without writing, that a database holds Optuna's tables at a revision posttrain reads; returns the
 * revision. For databases opened read-only (reports, `recipe status`).
 *
 * @example
 * checkSchema(new BetterSqlite3('runs/sweeps.db', { readonly: true }), 'runs/sweeps.db'); // 'v3.2.0.a'
 */
export function checkSchema(db: Database, location: string): OptunaSchemaRevision {
  const existing = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name),
  );
  return checkExistingSchema(db, location, existing);
}

function checkExistingSchema(db: Database, location: string, existing: Set<string>): OptunaSchemaRevision {
  const missing = OPTUNA_TABLES.filter((name) => !existing.has(name));
  if (missing.length > 0) {
    throw new StudyStorageError(
      `${location} is not an Optuna study database (missing tables: ${missing.join(', ')}); point the storage at a new file or an Optuna database`,
      { path: 'storage' },
    );
  }
  const stamp = (db.prepare('SELECT version_num FROM alembic_version').get() as { version_num: string } | undefined)?.version_num;
  if (stamp === undefined || !(SUPPORTED_REVISIONS as readonly string[]).includes(stamp)) {
    throw new StudyStorageError(
      `${location} has Optuna schema revision ${stamp ?? '(none)'}; posttrain reads and writes ${SUPPORTED_REVISIONS.join(' and ')}. ` +
        'For an older database run `optuna storage upgrade --storage URL` first.',
      { path: 'storage' },
    );
  }
  return stamp as OptunaSchemaRevision;
}
