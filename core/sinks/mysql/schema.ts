import type { ReadingRow, SensorRow } from './rows';
import { SchemaConflictError } from './errors';
import type { SqlRunner } from './db';

/**
 * The two tables. Readings are keyed by (sid, kind, ts), so writing a reading twice (a spool
 * replayed after a crash, a batch whose acknowledgement was lost) leaves one row. ts is Unix
 * seconds (UTC) as on the wire: FROM_UNIXTIME(ts) gives a date in queries.
 */
export interface TableNames {
  sensors: string;
  readings: string;
}

export const tableNames = (prefix: string): TableNames => ({
  sensors: `${prefix}sensors`,
  readings: `${prefix}readings`,
});

/** Prefixes are [A-Za-z0-9_] only (checked with the config), so backquotes are all the quoting needed. */
const q = (name: string): string => `\`${name}\``;

const SENSOR_COLUMNS = ['sid', 'device_id', 'name', 'type', 'subtype', 'class', 'counter_unit', 'gauge_unit'] as const;
const READING_COLUMNS = ['sid', 'kind', 'ts', 'value'] as const;
const READING_KEY = ['sid', 'kind', 'ts'];

export function createTableSql(t: TableNames): { sensors: string; readings: string } {
  return {
    sensors: `CREATE TABLE IF NOT EXISTS ${q(t.sensors)} (
  sid CHAR(32) CHARACTER SET ascii NOT NULL,
  device_id CHAR(32) CHARACTER SET ascii NULL,
  name VARCHAR(64) NULL,
  type VARCHAR(32) NULL,
  subtype VARCHAR(16) NULL,
  class VARCHAR(16) NULL,
  counter_unit VARCHAR(16) NULL,
  gauge_unit VARCHAR(16) NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (sid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='Fluksometer sensors (node-red-contrib-fluksometer)'`,
    readings: `CREATE TABLE IF NOT EXISTS ${q(t.readings)} (
  sid CHAR(32) CHARACTER SET ascii NOT NULL,
  kind ENUM('gauge','counter') NOT NULL,
  ts INT UNSIGNED NOT NULL COMMENT 'Unix seconds, UTC',
  value DOUBLE NOT NULL,
  PRIMARY KEY (sid, kind, ts)
) ENGINE=InnoDB COMMENT='Fluksometer readings (node-red-contrib-fluksometer)'`,
  };
}

/** Many rows in one statement (mysql2 expands the nested array); a row already there is left as it is. */
export const insertReadingsSql = (t: TableNames): string =>
  `INSERT IGNORE INTO ${q(t.readings)} (${READING_COLUMNS.join(', ')}) VALUES ?`;

export const readingValues = (rows: readonly ReadingRow[]): unknown[][] =>
  rows.map((r) => [r.sid, r.kind, r.ts, r.value]);

/** Known fields replace the stored ones; a field this source does not know keeps what another source wrote. */
export const upsertSensorsSql = (t: TableNames): string =>
  `INSERT INTO ${q(t.sensors)} (${SENSOR_COLUMNS.join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ` +
  SENSOR_COLUMNS.filter((c) => c !== 'sid')
    .map((c) => `${c} = COALESCE(VALUES(${c}), ${c})`)
    .join(', ');

export const sensorValues = (rows: readonly SensorRow[]): unknown[][] =>
  rows.map((s) => [s.sid, s.deviceId, s.name, s.type, s.subtype, s.class, s.counterUnit, s.gaugeUnit]);

/**
 * Create the tables that are missing; check that existing ones can take our rows (the columns,
 * and the readings key that keeps replays from duplicating). Needs CREATE only when a table is
 * missing, so a user without it can write to tables an administrator made.
 */
export async function ensureSchema(db: SqlRunner, t: TableNames): Promise<'created' | 'found'> {
  const have = await db.query<Array<{ t: string; c: string }>>(
    'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?)',
    [t.sensors, t.readings],
  );
  const columns = (table: string) => new Set(have.filter((r) => r.t === table).map((r) => r.c.toLowerCase()));
  const ddl = createTableSql(t);
  let created = false;
  for (const [table, needed, create] of [
    [t.sensors, SENSOR_COLUMNS, ddl.sensors],
    [t.readings, READING_COLUMNS, ddl.readings],
  ] as const) {
    const cols = columns(table);
    if (cols.size === 0) {
      await db.query(create);
      created = true;
      continue;
    }
    const absent = needed.filter((c) => !cols.has(c));
    if (absent.length) {
      throw new SchemaConflictError(
        `table ${table} exists without column(s) ${absent.join(', ')}: it is not this node's; pick another table prefix`,
      );
    }
  }
  const key = await db.query<Array<{ c: string }>>(
    "SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
    [t.readings],
  );
  const got = key.map((r) => r.c.toLowerCase());
  if (got.join() !== READING_KEY.join()) {
    throw new SchemaConflictError(
      `table ${t.readings} has primary key (${got.join(', ') || 'none'}), not (${READING_KEY.join(', ')}): replayed readings could be stored twice; pick another table prefix`,
    );
  }
  return created ? 'created' : 'found';
}
