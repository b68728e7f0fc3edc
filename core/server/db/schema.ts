import type { ServerDb } from './pool';

/**
 * The tables of the server's shared database (docs/protocols/server.md#shared-database). Every
 * instance creates what is missing at start (CREATE TABLE IF NOT EXISTS), so the first one to
 * start makes them and the others find them. Ids are ASCII with binary collation: sensor and
 * device ids are lowercase hex, and "AB" must never equal "ab".
 *
 * - `flm_srv_readings`: one row per (sid, rid, ts); the primary key is what makes a reading
 *   stored once, whichever instance, path or retry brings it. `w8` is NULL for a reading served
 *   in the block of its own window, else the level-8 window whose block serves it (it came after
 *   its own window was sealed: a block that starts early).
 * - `flm_srv_windows`: the 4096 s windows (level-12 block ids) that serve readings, so the TMPO
 *   block list is built without scanning readings.
 * - `flm_srv_sealed`: per sensor and rid, the windows before `below` are complete (a later
 *   reading or the device's block came): they may be listed and are never changed again;
 *   `last_w8` is the latest level-8 window that serves readings, `arrived` when
 *   readings of it came last.
 * - `flm_srv_last_blocks`: per sensor, the last TMPO block a device bridged (its sync reply).
 * - `flm_srv_heartbeats`: per device, heartbeat and reset counts.
 * - `flm_srv_users`, `flm_srv_devices`, `flm_srv_sensors`, `flm_srv_shares`: the registry;
 *   `flm_srv_meta.registry_version` goes up with every change, which other instances poll.
 */
const ID = 'VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL';
const TABLES = [
  `CREATE TABLE IF NOT EXISTS flm_srv_readings (
    sid ${ID}, rid INT UNSIGNED NOT NULL, ts BIGINT UNSIGNED NOT NULL, v DOUBLE NOT NULL,
    w8 BIGINT UNSIGNED NULL, PRIMARY KEY (sid, rid, ts), KEY placed (sid, rid, w8)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_sealed (
    sid ${ID}, rid INT UNSIGNED NOT NULL, below BIGINT UNSIGNED NOT NULL, last_w8 BIGINT UNSIGNED NOT NULL,
    arrived BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (sid, rid)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_windows (
    sid ${ID}, rid INT UNSIGNED NOT NULL, w12 BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (sid, rid, w12)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_last_blocks (
    sid ${ID} PRIMARY KEY, rid INT UNSIGNED NOT NULL, lvl TINYINT UNSIGNED NOT NULL, bid BIGINT UNSIGNED NOT NULL
    ) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_heartbeats (
    did ${ID} PRIMARY KEY, heartbeats BIGINT UNSIGNED NOT NULL, resets BIGINT UNSIGNED NOT NULL,
    last_heartbeat BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_users (
    name ${ID} PRIMARY KEY, token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_devices (
    did ${ID} PRIMARY KEY, dkey CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, owner ${ID},
    KEY (owner)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_sensors (
    sid ${ID} PRIMARY KEY, did ${ID}, enabled TINYINT(1) NOT NULL, rid INT UNSIGNED NOT NULL,
    token CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, config TEXT NOT NULL,
    KEY (did)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_shares (
    sid ${ID}, user ${ID}, PRIMARY KEY (sid, user)) ENGINE=InnoDB`,
  `CREATE TABLE IF NOT EXISTS flm_srv_meta (
    name ${ID} PRIMARY KEY, value BIGINT NOT NULL) ENGINE=InnoDB`,
];

/** Create the tables that are missing; resolves when they all exist. */
export async function ensureSchema(db: ServerDb): Promise<void> {
  for (const sql of TABLES) await db.query(sql);
  // A database made before late readings got a window of their own (docs/protocols/server.md#store).
  const w8 = await db.query<unknown[]>(
    `SELECT 1 FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'flm_srv_readings' AND COLUMN_NAME = 'w8'`,
  );
  if (w8.length === 0) {
    await db.query('ALTER TABLE flm_srv_readings ADD COLUMN w8 BIGINT UNSIGNED NULL, ADD KEY placed (sid, rid, w8)');
    await db.query(
      `INSERT IGNORE INTO flm_srv_sealed (sid, rid, below, last_w8, arrived)
       SELECT sid, rid, 0, MAX(ts) - MAX(ts) % 256, 0 FROM flm_srv_readings GROUP BY sid, rid`,
    );
  }
  await db.query(`INSERT IGNORE INTO flm_srv_meta (name, value) VALUES ('registry_version', 0)`);
}
