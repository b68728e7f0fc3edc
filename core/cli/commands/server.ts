import { resolve } from 'node:path';
import { z } from 'zod';
import { parseFlags, UsageError, type Command } from '../command';
import { FileRegistry } from '../../server/registry';

/**
 * `flm server ...`: the Flukso server's registry (docs/protocols/server.md#accounts), edited in
 * `<data>/server/registry.json` (0600), also while the server runs. `--data` defaults to
 * FLM_DATA_DIR, else `.flm/data` as `npm start` uses.
 */

const dataFlag = { data: { type: 'string' } } as const;
const dataDir = (flag: string | undefined): string => resolve(flag || process.env.FLM_DATA_DIR || '.flm/data');
const open = (flag: string | undefined) => FileRegistry.open(`${dataDir(flag)}/server`);

function positionals(list: string[], names: string[]): string[] {
  if (list.length !== names.length) throw new UsageError(`expected ${names.join(' ')}`);
  return list;
}

const userAdd: Command = {
  path: ['server', 'user', 'add'],
  summary: "add a Flukso server user; prints the user's master token",
  usage: 'flm server user add <name> [--data DIR]',
  async run(args, io) {
    const { flags, positionals: p } = parseFlags(args, dataFlag, z.object({ data: z.string().optional() }));
    const [name] = positionals(p, ['<name>']);
    const token = await (await open(flags.data)).addUser(name!);
    io.stdout.write(`${token}\n`);
    return 0;
  },
};

const deviceAdd: Command = {
  path: ['server', 'device', 'add'],
  summary: "register an FLM (id and key as on its label) for a user, with sensors; prints each sensor's token",
  usage: 'flm server device add <did> <key> --user NAME [--sensor SID]... [--data DIR]',
  async run(args, io) {
    const { flags, positionals: p } = parseFlags(
      args,
      { ...dataFlag, user: { type: 'string' }, sensor: { type: 'string', multiple: true } },
      z.object({ data: z.string().optional(), user: z.string(), sensor: z.array(z.string()).default([]) }),
    );
    const [did, key] = positionals(p, ['<did>', '<key>']);
    const sensors = await (await open(flags.data)).addDevice(did!, key!, flags.user, flags.sensor);
    for (const s of sensors) io.stdout.write(`${s.sid} ${s.token}\n`);
    return 0;
  },
};

const share: Command = {
  path: ['server', 'share'],
  summary: "let another user read a sensor with the user's master token",
  usage: 'flm server share <sid> --with USER [--data DIR]',
  async run(args) {
    const { flags, positionals: p } = parseFlags(
      args,
      { ...dataFlag, with: { type: 'string' } },
      z.object({ data: z.string().optional(), with: z.string() }),
    );
    const [sid] = positionals(p, ['<sid>']);
    await (await open(flags.data)).share(sid!, flags.with);
    return 0;
  },
};

const ls: Command = {
  path: ['server', 'ls'],
  summary: 'list the Flukso server users, devices, sensors and shares (tokens with --tokens)',
  usage: 'flm server ls [--tokens] [--json] [--data DIR]',
  async run(args, io) {
    const { flags } = parseFlags(
      args,
      { ...dataFlag, tokens: { type: 'boolean' }, json: { type: 'boolean' } },
      z.object({ data: z.string().optional(), tokens: z.boolean().default(false), json: z.boolean().default(false) }),
    );
    const snap = (await open(flags.data)).snapshot();
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
