/**
 * Flow properties may hold `${ENV_VAR}`; Node-RED replaces it when the variable is set and
 * leaves the literal text when it is not. These read such a value as "unset" in that case.
 */
const UNRESOLVED = /^\$\{[^}]*\}$/;

export function textSetting(v: unknown, fallback = ''): string {
  if (v === undefined || v === null) return fallback;
  const s = String(v).trim();
  return s === '' || UNRESOLVED.test(s) ? fallback : s;
}

export function numberSetting(v: unknown, fallback: number, name: string, check?: (n: number) => boolean): number {
  const s = textSetting(v);
  if (s === '') return fallback;
  const n = Number(s);
  if (!Number.isFinite(n) || (check && !check(n))) throw new Error(`${name}: "${s}" is not a valid value`);
  return n;
}

export const isPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65535;
