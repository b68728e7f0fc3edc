import { resolve } from 'node:path';
import { z } from 'zod';
import { parseFlags, UsageError, type Command, type Options } from '../command';
import { FileRegistry, type RegistryAdmin } from '../../server/registry';
import { openDbRegistry } from '../../server/db/open';

/**
 * `flm server ...`: the Flukso server's registry (docs/protocols/server.md#accounts), edited in
 * `<data>/server/registry.json` (0600), also while the server runs. `--data` defaults to
 * FLM_DATA_DIR, else `.flm/data` as `npm start` uses. With `--db URL` (default FLM_SERVER_DB_URL)
 * the registry is the shared database's (docs/protocols/server.md#shared-database).
 */

const dataFlag: Options = {
  data: {
    type: 'string',
    value: 'DIR',
    help: 'the data folder (default FLM_DATA_DIR, else .flm/data as npm start uses)',
  },
  db: {
    type: 'string',
    value: 'URL',
    help: 'the shared database, mysql://user:pass@host/db (default FLM_SERVER_DB_URL)',
  },
};
const dataDir = (flag: string | undefined): string => resolve(flag || process.env.FLM_DATA_DIR || '.flm/data');

/** The registry the flags name; closed after `fn`, whatever it does. */
async function withRegistry<T>(
  flags: { data?: string | undefined; db?: string | undefined },
  fn: (r: RegistryAdmin) => Promise<T>,
): Promise<T> {
  const url = flags.db || process.env.FLM_SERVER_DB_URL;
  const registry: RegistryAdmin = url
    ? await openDbRegistry(url)
    : await FileRegistry.open(`${dataDir(flags.data)}/server`);
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

function positionals(list: string[], names: string[]): string[] {
  if (list.length !== names.length) throw new UsageError(`expected ${names.join(' ')}`);
  return list;
}

const userAdd: Command = {
  path: ['server', 'user', 'add'],
  summary: "add a Flukso server user; prints the user's master token",
  args: '<name>',
  options: dataFlag,
  examples: ['flm server user add alice --data .flm/data'],
  async run(args, io) {
    const { flags, positionals: p } = parseFlags(
      args,
      dataFlag,
      z.object({ data: z.string().optional(), db: z.string().optional() }),
    );
    const [name] = positionals(p, ['<name>']);
    const token = await withRegistry(flags, (r) => r.addUser(name!));
    io.stdout.write(`${token}\n`);
    return 0;
  },
};

const deviceAdd: Command = {
  path: ['server', 'device', 'add'],
  summary: "register an FLM (id and key as on its label) for a user, with sensors; prints each sensor's token",
  args: '<did> <key> --user NAME',
  options: {
    ...dataFlag,
    user: { type: 'string', value: 'NAME', help: 'the user the device belongs to (flm server user add)' },
    sensor: { type: 'string', multiple: true, value: 'SID', help: "one of the FLM's sensor ids; repeat for each" },
  },
  details: [
    "Sensors also arrive by themselves when the FLM's bridge sends its sensor table; an FLM that only uploads over HTTP needs its sensor ids given here.",
  ],
  examples: ['flm server device add DEVICE_ID DEVICE_KEY --user alice --sensor SENSOR_ID'],
  async run(args, io) {
    const { flags, positionals: p } = parseFlags(
      args,
      deviceAdd.options,
      z.object({
        data: z.string().optional(),
        db: z.string().optional(),
        user: z.string(),
        sensor: z.array(z.string()).default([]),
      }),
    );
    const [did, key] = positionals(p, ['<did>', '<key>']);
    const sensors = await withRegistry(flags, (r) => r.addDevice(did!, key!, flags.user, flags.sensor));
    for (const s of sensors) io.stdout.write(`${s.sid} ${s.token}\n`);
    return 0;
  },
};

const share: Command = {
  path: ['server', 'share'],
  summary: "let another user read a sensor with the user's master token",
  args: '<sid> --with USER',
  options: { ...dataFlag, with: { type: 'string', value: 'USER', help: 'the user who may read the sensor' } },
  examples: ['flm server share <32 hex sid> --with bob'],
  async run(args) {
    const { flags, positionals: p } = parseFlags(
      args,
      share.options,
      z.object({ data: z.string().optional(), db: z.string().optional(), with: z.string() }),
    );
    const [sid] = positionals(p, ['<sid>']);
    await withRegistry(flags, (r) => r.share(sid!, flags.with));
    return 0;
  },
};

const ls: Command = {
  path: ['server', 'ls'],
  summary: 'list the Flukso server users, devices, sensors and shares (tokens with --tokens)',
  options: {
    ...dataFlag,
    tokens: { type: 'boolean', help: 'show the tokens in full (they are shortened otherwise)' },
    json: { type: 'boolean', help: 'one JSON document instead of the indented list' },
  },
  examples: ['flm server ls --tokens'],
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      ls.options,
      z.object({
        data: z.string().optional(),
        db: z.string().optional(),
        tokens: z.boolean().default(false),
        json: z.boolean().default(false),
      }),
    );
    const snap = await withRegistry(flags, async (r) => r.snapshot());
    const hide = (t: string) => (flags.tokens ? t : `${t.slice(0, 4)}…`);
    if (flags.json) {
      io.stdout.write(
        JSON.stringify({
          users: Object.entries(snap.users).map(([name, u]) => ({ name, token: hide(u.token) })),
          devices: Object.entries(snap.devices).map(([did, d]) => ({ did, owner: d.owner })),
          sensors: Object.entries(snap.sensors).map(([sid, s]) => ({
            sid,
            did: s.did,
            enabled: s.enabled,
            rid: s.rid,
            token: hide(s.token),
            type: s.config['type'],
            sharedWith: snap.shares[sid] ?? [],
          })),
        }) + '\n',
      );
      return 0;
    }
    for (const [name, u] of Object.entries(snap.users)) {
      io.stdout.write(`user ${name}  token ${hide(u.token)}\n`);
      for (const [did, d] of Object.entries(snap.devices)) {
        if (d.owner !== name) continue;
        io.stdout.write(`  device ${did}\n`);
        for (const [sid, s] of Object.entries(snap.sensors)) {
          if (s.did !== did) continue;
          const shared = snap.shares[sid]?.length ? `  shared with ${snap.shares[sid]!.join(', ')}` : '';
          const type = typeof s.config['type'] === 'string' ? ` ${s.config['type']}` : '';
          io.stdout.write(
            `    sensor ${sid}${type}${s.enabled ? '' : ' (disabled)'}  token ${hide(s.token)}${shared}\n`,
          );
        }
      }
    }
    return 0;
  },
};

export const serverCommands: Command[] = [userAdd, deviceAdd, share, ls];
