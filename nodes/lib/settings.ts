import { z } from 'zod';

/**
 * Flow properties may hold `${ENV_VAR}`; Node-RED replaces it when the variable is set and
 * leaves the literal text when it is not. These read such a value as "unset" in that case.
 */
const UNRESOLVED = /^\$\{[^}]*\}$/;

/** `${NAME}` left as it is: the variable is not set. */
export const isUnresolved = (s: string): boolean => UNRESOLVED.test(s);

export function textSetting(v: unknown, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  const s = String(v).trim();
  return s === '' || isUnresolved(s) ? fallback : s;
}

export function numberSetting(v: unknown, fallback: number, name: string, check?: (n: number) => boolean): number {
  const s = textSetting(v);
  if (s === '') return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || (check && !check(n))) throw new Error(`${name}: "${s}" is not a valid value`);
  return n;
}

export const isPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;

/**
 * The zod form of the readers above, for a node's settings schema: each field says how to read
 * one property, `${VAR}` left unset counting as blank; `parseSettings` turns the first problem
 * into the error the node shows, in the order the schema lists its fields.
 */
export const setting = {
  text: (fallback = '') =>
    z
      .unknown()
      .optional()
      .transform((v) => textSetting(v, fallback)),
  number: (fallback: number, name: string, check?: (n: number) => boolean) =>
    z
      .unknown()
      .optional()
      .transform((v, ctx) => guarded(ctx, () => numberSetting(v, fallback, name, check))),
  /** a number, or undefined when blank */
  optionalNumber: (name: string, check?: (n: number) => boolean) =>
    z
      .unknown()
      .optional()
      .transform((v, ctx) =>
        guarded(ctx, () => (textSetting(v) === '' ? undefined : numberSetting(v, 0, name, check))),
      ),
  /** one of `values`; `refusal` words the error for anything else */
  oneOf: <T extends string>(values: readonly T[], fallback: T, refusal: (s: string) => string) =>
    z
      .unknown()
      .optional()
      .transform((v, ctx) => {
        const s = textSetting(v, fallback);
        if ((values as readonly string[]).includes(s)) return s as T;
        ctx.addIssue({ code: 'custom', message: refusal(s) });
        return z.NEVER;
      }),
  /** a credential as it was typed (a password may start or end with a space); missing is '' */
  secret: () =>
    z
      .unknown()
      .optional()
      .transform((v) => (typeof v === 'string' ? v : '')),
  /** any reader that throws its own error text */
  read: <T>(read: (v: unknown) => T) =>
    z
      .unknown()
      .optional()
      .transform((v, ctx) => guarded(ctx, () => read(v))),
};

function guarded<T>(ctx: z.RefinementCtx, read: () => T): T {
  try {
    return read();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
}

/** The node's settings, typed, or the error naming the first setting that is wrong. */
export function parseSettings<S extends z.ZodType>(schema: S, def: unknown): z.output<S> {
  const r = schema.safeParse(def ?? {});
  if (r.success) return r.data;
  throw new Error(r.error.issues[0]?.message ?? 'invalid settings');
}

/**
 * A credential may name an environment variable as `${NAME}`: Node-RED substitutes properties,
 * not credentials, so this looks the variable up (flow, global, process environment).
 */
export function credentialSetting(
  getSetting: ((name: string) => unknown) | undefined,
  v: unknown,
  what: string,
): string {
  const t = textOf(v);
  const m = /^\$\{(\w+)\}$/.exec(t);
  if (!m) return t;
  const name = m[1]!;
  const value = getSetting?.(name) ?? process.env[name];
  if (value === undefined || value === '') throw new Error(`${what}: environment variable ${name} is not set`);
  return String(value).trim();
}

const textOf = (v: unknown): string => (v === undefined || v === null ? '' : String(v).trim());
