import { formatLuaNumber } from './lua-number';

/**
 * Compact JSON as luci.json writes it (the encoder tmpod uses for the block header): no
 * whitespace, numbers as Lua prints them, and `"`, `\` and control characters escaped as
 * `\u00xx` with lowercase hex rather than JSON.stringify's `\"`, `\\` and `\n`. Object keys keep
 * their insertion order; properties whose value is undefined are left out, as a Lua nil would be.
 */
export function luaJson(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return formatLuaNumber(value);
    case 'string':
      return luaJsonString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((item) => luaJson(item)).join(',')}]`;
      return luaJsonObject(value as Record<string, unknown>);
    default:
      throw new TypeError(`cannot write a ${typeof value} into a TMPO block`);
  }
}

function luaJsonObject(obj: Record<string, unknown>): string {
  const members: string[] = [];
  for (const [key, item] of Object.entries(obj)) {
    if (item === undefined) continue;
    members.push(`${luaJsonString(key)}:${luaJson(item)}`);
  }
  return `{${members.join(',')}}`;
}

// Lua's %c class in the C locale: 0x00-0x1f and 0x7f.
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f"\\]/g;

function luaJsonString(s: string): string {
  return `"${s.replace(NEEDS_ESCAPE, (ch) => `\\u00${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)}"`;
}
