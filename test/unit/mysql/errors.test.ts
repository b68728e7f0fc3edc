import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDbError, SchemaConflictError } from '../../../core/sinks/mysql';

/** Errors as mysql2 raises them (code, errno, sqlMessage; `fatal` for a lost connection). */
const driverError = (code: string, errno: number | undefined, sqlMessage: string, fatal = false) =>
  Object.assign(new Error(sqlMessage), { code, errno, sqlMessage, fatal });

test('auth failure, missing privileges and a missing database are named plainly, with what is missing', () => {
  const auth = classifyDbError(
    driverError('ER_ACCESS_DENIED_ERROR', 1045, "Access denied for user 'flm'@'127.0.0.1' (using password: YES)", true),
    'flm',
  );
  assert.equal(auth.kind, 'auth');
  assert.match(
    auth.message,
    /^authentication failed: check user and password \(Access denied for user 'flm'@'127.0.0.1'/,
  );

  const table = classifyDbError(
    driverError(
      'ER_TABLEACCESS_DENIED_ERROR',
      1142,
      "INSERT command denied to user 'r'@'127.0.0.1' for table `flm`.`flm_readings`",
    ),
    'flm',
  );
  assert.equal(table.kind, 'privileges');
  assert.match(
    table.message,
    /^missing privileges: INSERT on table `flm`.`flm_readings` for 'r'@'127.0.0.1' \(the node needs SELECT, INSERT, UPDATE/,
  );

  const db = classifyDbError(
    driverError('ER_DBACCESS_DENIED_ERROR', 1044, "Access denied for user 'o'@'127.0.0.1' to database 'flm'", true),
    'flm',
  );
  assert.match(db.message, /^missing privileges: 'o'@'127.0.0.1' has no privileges on database 'flm'/);

  const specific = classifyDbError(
    driverError(
      'ER_SPECIFIC_ACCESS_DENIED_ERROR',
      1227,
      'Access denied; you need (at least one of) the SUPER privilege(s) for this operation',
    ),
  );
  assert.match(specific.message, /^missing privileges: Access denied; you need \(at least one of\) the SUPER/);

  // A driver that gives only the server's number.
  assert.equal(classifyDbError({ errno: 1045, message: 'Access denied' }).kind, 'auth');
  assert.match(
    classifyDbError(driverError('ER_BAD_DB_ERROR', 1049, "Unknown database 'nope'"), 'nope').message,
    /^database "nope" does not exist/,
  );
});

test('an unreachable or restarting server is transient; a conflicting table is a schema error', () => {
  for (const e of [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED', fatal: true }),
    driverError('PROTOCOL_CONNECTION_LOST', undefined, 'Connection lost: The server closed the connection.', true),
    driverError('ER_SERVER_SHUTDOWN', 1053, 'Server shutdown in progress'),
    driverError('ER_CONNECTION_KILLED', 1927, 'Connection was killed'),
  ]) {
    const c = classifyDbError(e);
    assert.equal(c.kind, 'unreachable', e.message);
    assert.match(c.message, /^database unreachable: /);
  }
  assert.equal(classifyDbError(new SchemaConflictError('table x exists without column(s) ts')).kind, 'schema');
  assert.equal(
    classifyDbError(driverError('ER_NO_SUCH_TABLE', 1146, "Table 'flm.flm_readings' doesn't exist")).kind,
    'schema',
  );
  assert.deepEqual(classifyDbError('odd'), { kind: 'other', message: 'odd' });
});
