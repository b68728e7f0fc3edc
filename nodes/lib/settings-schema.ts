import { z } from 'zod';
import { errorText } from './close';
import { numberSetting, textSetting } from './settings';

/**
 * A node's settings as one zod schema, read once at the edge into typed values. Each field says
 * how to read one property as the editor or a hand-written flow gives it (text, a number, blank,
 * an unresolved `${VAR}`), with the fallbacks and error texts of `settings.ts`; a property
 * missing from the flow reads like a blank one.
 */
export const setting = {
  /** trimmed text; blank or an unresolved `${VAR}` is `fallback` */
  text: (fallback = '') =>
    z
      .unknown()
      .optional()
      .transform((v) => textSetting(v, fallback)),
  /** a number; blank is `fallback`, anything else must pass `check` or the setting is refused under `name` */
  number: (fallback: number, name: string, check?: (n: number) => boolean) =>
    setting.read((v) => numberSetting(v, fallback, name, check)),
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
      .transform((v, ctx): T => {
        try {
          return read(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: errorText(err) });
          return z.NEVER;
        }
      }),
};

/** The node's settings, typed, or the error naming the first setting that is wrong, in the schema's field order. */
export function parseSettings<S extends z.ZodType>(schema: S, def: unknown): z.output<S> {
  const r = schema.safeParse(def ?? {});
  if (r.success) return r.data;
  throw new Error(r.error.issues[0]?.message ?? 'invalid settings');
}
