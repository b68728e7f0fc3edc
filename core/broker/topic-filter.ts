/**
 * Does an MQTT topic match a subscription filter (`+` one level, `#` the rest)? As in MQTT,
 * a filter starting with a wildcard does not match `$` topics such as $SYS.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A comma- or newline-separated list of filters; each checked for wildcards in the right place. */
export function parseTopicFilters(text: string): string[] {
  const filters = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of filters) {
    const levels = f.split('/');
    const bad = levels.some(
      (l, i) => (l.includes('#') && (l !== '#' || i !== levels.length - 1)) || (l.includes('+') && l !== '+'),
    );
    if (bad) throw new Error(`"${f}" is not a valid MQTT topic filter`);
  }
  return filters;
}
