import { z } from 'zod';
import { errorText } from './close';
import { numberSetting, textSetting } from './settings';

/**
 * A node's settings as one zod schema, read once at the edge into typed values. The field
 * helpers read a property as the editor or a hand-written flow gives it (text, a number, blank,
 * an unresolved `${VAR}`), with the same fallbacks and error texts as `settings.ts`. They are
 * bare transforms: a property missing from a hand-written flow is read like a blank one.
 */

/** Trimmed text; blank or an unresolved `${VAR}` is `fallback`. */
export const text = (fallback = '') => z.transform((v: unknown) => textSetting(v, fallback));

/** The credential as it was typed (a password may start or end with a space); missing is ''. */
export const secret = () => z.transform((v: unknown) => (typeof v === 'string' ? v : ''));

/** A number; blank is `fallback`, anything else must pass `check` or the setting is refused under `name`. */
export const number = (fallback: number, name: string, check?: (n: number) => boolean) => checked((v) => numberSetting(v, fallback, name, check));

/** Any reading of a property that throws on bad input: its message becomes the setting's error. */
export function checked<T>(read: (v: unknown) => T) {
  return z.transform((v: unknown, ctx): T => {
    try {
      return read(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: errorText(err) });
      return z.NEVER;
    }
  });
}

/** The settings, typed; the first refused one as an Error (what the node shows in red and logs). */
export function parseSettings<S extends z.ZodType>(schema: S, def: unknown): z.output<S> {
  const r = schema.safeParse(def);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new Error(issue?.code === 'custom' ? issue.message : `${issue?.path.join('.') ?? 'settings'}: ${issue?.message ?? 'invalid'}`);
}
