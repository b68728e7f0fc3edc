import { EXIT_CODE_LINES, type Command, type OptionSpec } from './command';

/** Help is for a terminal: nothing wider than this. */
export const HELP_WIDTH = 80;

/** `text` in lines of at most `width`, each but the first after `indent` spaces; a word too long stays whole. */
function wrap(text: string, width: number, indent = 0): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const room = width - (lines.length ? indent : 0);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l, i) => (i ? ' '.repeat(indent) + l : l));
}

/** Two columns: a term and its text wrapped beside it (under it, when the term is too wide). */
function twoColumns(rows: Array<[string, string]>): string[] {
  const lead = 2;
  const termWidth = Math.min(Math.max(...rows.map(([t]) => t.length)), 24);
  const textAt = lead + termWidth + 2;
  const out: string[] = [];
  for (const [term, text] of rows) {
    const body = wrap(text, HELP_WIDTH - textAt);
    if (term.length > termWidth) {
      out.push(' '.repeat(lead) + term);
      out.push(...body.map((l) => ' '.repeat(textAt) + l));
    } else {
      out.push(' '.repeat(lead) + term.padEnd(termWidth + 2) + body[0]);
      out.push(...body.slice(1).map((l) => ' '.repeat(textAt) + l));
    }
  }
  return out;
}

const optionTerm = (name: string, o: OptionSpec): string =>
  `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;

/** `flm tmpo export --dir DIR --sid SID [options]` */
function usageLine(c: Command): string {
  return ['flm', ...c.path, ...(c.args ? [c.args] : []), '[options]'].join(' ');
}

const exitCodes = (): string[] => ['Exit codes:', ...EXIT_CODE_LINES.map((l) => `  ${l}`)];

/** `flm <command> --help` */
export function commandHelp(c: Command): string {
  const lines = [
    ...wrap(`Usage: ${usageLine(c)}`, HELP_WIDTH, 7),
    '',
    ...wrap(`${c.summary}.`, HELP_WIDTH),
    ...(c.details ?? []).flatMap((p) => ['', ...wrap(p, HELP_WIDTH)]),
    '',
    'Options:',
    ...twoColumns([
      ...Object.entries(c.options).map(([n, o]): [string, string] => [
        optionTerm(n, o),
        o.multiple ? `${o.help} (may be repeated)` : o.help,
      ]),
      ['-h, --help', 'this help'],
    ]),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.map((e) => `  ${e}`)] : []),
    '',
    ...exitCodes(),
  ];
  return lines.join('\n') + '\n';
}

/** Help for the words before a command, e.g. `flm tmpo --help`: the commands under them. */
export function groupHelp(prefix: string[], commands: Command[]): string {
  const under = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const lines = [
    `Usage: flm ${prefix.join(' ')} <command> [options]`,
    '',
    'Commands:',
    ...twoColumns(under.map((c): [string, string] => [c.path.slice(prefix.length).join(' '), c.summary])),
    '',
    ...wrap(`See flm ${prefix.join(' ')} <command> --help for a command's options.`, HELP_WIDTH),
  ];
  return lines.join('\n') + '\n';
}

/** `flm --help` */
export function mainHelp(commands: Command[]): string {
  const lines = [
    'flm: look at Fluksometer data without wiring a flow',
    '',
    'Usage: flm <command> [options]',
    '',
    'Commands:',
    ...twoColumns(commands.map((c): [string, string] => [c.path.join(' '), c.summary])),
    '',
    'Options:',
    ...twoColumns([
      ['-h, --help', 'this help; flm <command> --help for a command'],
      ['--version', "the package's version"],
    ]),
    '',
    ...exitCodes(),
    '',
    'JSON output is stable: scripts may rely on it.',
  ];
  return lines.join('\n') + '\n';
}
