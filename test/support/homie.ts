/**
 * A checker for the Homie convention v4.0.0 (homieiot.github.io/specification/spec-core-v4_0_0),
 * written from the convention's text, applied to what a broker retains under the base topic.
 * It knows nothing of how this package builds its messages.
 */

/** Topic level ids: lowercase a–z, 0–9 and hyphens, not starting (nor, by the later text, ending) with a hyphen. */
const ID = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const STATES = ['init', 'ready', 'disconnected', 'sleeping', 'lost', 'alert'];
const DATATYPES = ['integer', 'float', 'boolean', 'string', 'enum', 'color'];
const INTEGER = /^[-+]?\d+$/;
/** Float payloads: digits, -, +, ., E and e, making a number. */
const FLOAT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export interface Retained {
  payload: string;
  retain: boolean;
}

export interface HomieCheck {
  /** the device ids found */
  devices: string[];
  problems: string[];
}

/**
 * `messages`: topic → last message, for everything under `<base>/`. Empty payloads are not
 * retained by a broker, so an attribute whose value is "" (the convention's `$extensions`
 * when there are none) is absent, and that is accepted.
 */
export function checkHomie(
  messages: Map<string, Retained>,
  base = 'homie',
  opts: { requireValues?: boolean } = {},
): HomieCheck {
  const problems: string[] = [];
  const get = (t: string) => messages.get(t)?.payload;
  const explained = new Set<string>();
  const devices = new Set<string>();
  for (const [topic, m] of messages) {
    if (!topic.startsWith(`${base}/`)) continue;
    if (!m.retain) problems.push(`${topic}: not retained`);
    devices.add(topic.split('/')[1]!);
  }
  for (const dev of devices) {
    const d = `${base}/${dev}`;
    const need = (t: string, what: string): string | undefined => {
      explained.add(t);
      const v = get(t);
      if (v === undefined) problems.push(`${t}: missing (${what})`);
      return v;
    };
    if (!ID.test(dev)) problems.push(`${d}: "${dev}" is not a valid device id`);
    const version = need(`${d}/$homie`, 'device attribute $homie');
    if (version !== undefined && !/^4(\.\d+){1,2}$/.test(version))
      problems.push(`${d}/$homie: "${version}" is not a 4.x version`);
    need(`${d}/$name`, 'device attribute $name');
    const state = need(`${d}/$state`, 'device attribute $state');
    if (state !== undefined && !STATES.includes(state))
      problems.push(`${d}/$state: "${state}" is not one of ${STATES.join(', ')}`);
    explained.add(`${d}/$extensions`);
    explained.add(`${d}/$implementation`);
    for (const t of messages.keys()) if (t.startsWith(`${d}/$implementation/`)) explained.add(t);
    const nodes = need(`${d}/$nodes`, 'device attribute $nodes');
    const nodeIds = nodes ? nodes.split(',') : [];
    if (new Set(nodeIds).size !== nodeIds.length) problems.push(`${d}/$nodes: duplicate node ids in "${nodes}"`);
    for (const n of nodeIds) {
      const nt = `${d}/${n}`;
      if (!ID.test(n)) {
        problems.push(`${d}/$nodes: "${n}" is not a valid node id`);
        continue;
      }
      need(`${nt}/$name`, 'node attribute $name');
      need(`${nt}/$type`, 'node attribute $type');
      const props = need(`${nt}/$properties`, 'node attribute $properties');
      const propIds = props ? props.split(',') : [];
      if (new Set(propIds).size !== propIds.length) problems.push(`${nt}/$properties: duplicate property ids`);
      for (const p of propIds) {
        const pt = `${nt}/${p}`;
        if (!ID.test(p)) {
          problems.push(`${nt}/$properties: "${p}" is not a valid property id`);
          continue;
        }
        need(`${pt}/$name`, 'property attribute $name');
        const datatype = need(`${pt}/$datatype`, 'property attribute $datatype');
        if (datatype !== undefined && !DATATYPES.includes(datatype))
          problems.push(`${pt}/$datatype: "${datatype}" is not one of ${DATATYPES.join(', ')}`);
        for (const a of ['$unit', '$format', '$settable', '$retained']) explained.add(`${pt}/${a}`);
        const format = get(`${pt}/$format`);
        if ((datatype === 'enum' || datatype === 'color') && !format)
          problems.push(`${pt}/$format: required for ${datatype}`);
        for (const a of ['$settable', '$retained']) {
          const v = get(`${pt}/${a}`);
          if (v !== undefined && v !== 'true' && v !== 'false')
            problems.push(`${pt}/${a}: "${v}" is not true or false`);
        }
        explained.add(pt);
        explained.add(`${pt}/set`);
        const value = get(pt);
        if (value === undefined) {
          if (opts.requireValues && get(`${pt}/$retained`) !== 'false') problems.push(`${pt}: no value`);
          continue;
        }
        if (datatype === 'float' && !FLOAT.test(value)) problems.push(`${pt}: "${value}" is not a float payload`);
        if (datatype === 'integer' && !INTEGER.test(value))
          problems.push(`${pt}: "${value}" is not an integer payload`);
        if (datatype === 'boolean' && value !== 'true' && value !== 'false')
          problems.push(`${pt}: "${value}" is not a boolean payload`);
      }
    }
  }
  for (const t of messages.keys()) {
    if (t.startsWith(`${base}/`) && !explained.has(t))
      problems.push(`${t}: not part of any described device, node or property`);
  }
  return { devices: [...devices], problems };
}
