import { z } from 'zod';
import { mysqlSinkConfig, type MysqlSinkConfig } from '../../core/sinks/mysql';
import { textSetting } from './settings';
import { setting } from './settings';

/** flm-mysql's properties and credentials (under `credentials`), read into the sink's configuration. */
export const mysqlSettings = z
  .object({
    url: setting.text(),
    prefix: setting.read((v) => (v === undefined ? undefined : textSetting(v))),
    batchSize: setting.number(500, 'batch size', (n) => Number.isInteger(n) && n >= 1),
    batchInterval: setting.number(1, 'batch interval', (n) => n > 0),
    credentials: z.object({ user: setting.text(), password: setting.secret() }),
  })
  .transform((s, ctx): MysqlSinkConfig => {
    try {
      const { user, password } = s.credentials;
      return mysqlSinkConfig({
        url: s.url,
        user,
        password,
        prefix: s.prefix,
        batchSize: s.batchSize,
        batchIntervalS: s.batchInterval,
      });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  });
