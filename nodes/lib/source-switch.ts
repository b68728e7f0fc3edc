import { isUnresolved } from './settings';
import type { Phrase } from '../../core/util/status-view';

/**
 * One flow can hold every kind of source (simulator, P1 meter, sensor board) and run one of
 * them, chosen by a single value: `npm start` puts `${FLM_SOURCE}` in each source's "active
 * when" setting. Sources that are not chosen stay in standby: no port opened, no error.
 */
const SOURCE_KINDS = ['simulator', 'p1', 'board'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** FLM_SOURCE's default: a flow deployed without the variable runs its simulator. */
const UNSET_MEANS: SourceKind = 'simulator';

/**
 * Why a source node of `kind` stays in standby, or undefined when it runs. An empty setting
 * (or `always`) always runs; a source kind runs only the node of that kind; an environment
 * variable that is not set counts as `simulator`. Anything else is a configuration error.
 */
export function sourceStandby(setting: unknown, kind: SourceKind): string | undefined {
  return standbyPhrase(setting, kind)?.en;
}

/** sourceStandby as a status phrase, for the node's status in the runtime's language. */
export function standbyPhrase(setting: unknown, kind: SourceKind): Phrase | undefined {
  const chosen = chosenSource(setting, 'active when');
  if (chosen === undefined || chosen === kind) return undefined;
  return { key: 'standby', en: `standby: source is ${chosen}`, params: { source: chosen } };
}

/** The source kind a setting chooses, or undefined for every source (empty or `always`). */
export function chosenSource(setting: unknown, what: string): SourceKind | undefined {
  const raw = setting === undefined || setting === null ? '' : String(setting).trim();
  if (raw === '' || raw === 'always') return undefined;
  const chosen = isUnresolved(raw) ? UNSET_MEANS : raw;
  if (!(SOURCE_KINDS as readonly string[]).includes(chosen)) {
    throw new Error(`${what}: "${chosen}" is not ${SOURCE_KINDS.join(', ')} or always`);
  }
  return chosen as SourceKind;
}
