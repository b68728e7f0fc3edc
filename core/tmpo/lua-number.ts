/**
 * Numbers as the FLM prints them. tmpod serialises blocks with luci.json, which writes a number
 * with Lua 5.1 `tostring`, i.e. C `printf("%.14g")` (docs/protocols/flm-mqtt.md#payload): 14
 * significant digits, no trailing zeros, no decimal point for whole numbers, exponent form below
 * 1e-4 and from 1e14 up. Printing our numbers the same way keeps our blocks byte-identical to the
 * FLM's before gzip, and turns float noise such as 0.30000000000000004 into the 0.3 the FLM would
 * write.
 */

const SIGNIFICANT = 14;

export function formatLuaNumber(x: number): string {
  // Lua would print nan/inf, which no JSON reader accepts: refuse rather than write a dead block.
  if (!Number.isFinite(x)) throw new RangeError(`TMPO numbers must be finite, got ${x}`);
  if (Object.is(x, -0)) return '-0';
  if (Number.isInteger(x) && Math.abs(x) < 1e14) return String(x);
  const negative = x < 0;
  const { digits, exponent } = roundToSignificant(Math.abs(x));
  return (negative ? '-' : '') + renderG(digits, exponent);
}

/** `digits` (no leading zeros, trailing zeros kept) is the mantissa d.ddd × 10^exponent. */
interface Decimal {
  digits: string;
  exponent: number;
}

function roundToSignificant(x: number): Decimal {
  // JS rounds an exact tie away from zero where C rounds it to even; a tie needs the exact value
  // to end in a 5 at the 15th digit, so only then do we pay for the exact expansion.
  const probe = x.toPrecision(SIGNIFICANT + 1);
  const probeDigits = probe.replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
  if (probeDigits[SIGNIFICANT] === '5') return roundHalfEven(exactDecimal(x));
  const [mantissa, exp] = x.toExponential(SIGNIFICANT - 1).split('e') as [string, string];
  return { digits: mantissa.replace('.', ''), exponent: Number(exp) };
}

/** The exact decimal value of a positive double, from its binary mantissa and exponent. */
function exactDecimal(x: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exp2 = (biased === 0 ? 1 : biased) - 1075;
  if (exp2 >= 0) {
    const digits = (mantissa << BigInt(exp2)).toString();
    return { digits, exponent: digits.length - 1 };
  }
  // m / 2^k = m * 5^k / 10^k
  const digits = (mantissa * 5n ** BigInt(-exp2)).toString();
  return { digits, exponent: digits.length - 1 + exp2 };
}

function roundHalfEven({ digits, exponent }: Decimal): Decimal {
  if (digits.length <= SIGNIFICANT) return { digits: digits.padEnd(SIGNIFICANT, '0'), exponent };
  const kept = digits.slice(0, SIGNIFICANT);
  const rest = digits.slice(SIGNIFICANT);
  const tie = rest[0] === '5' && /^50*$/.test(rest);
  const up = rest[0]! > '5' || (rest[0] === '5' && !tie) || (tie && Number(kept[SIGNIFICANT - 1]) % 2 === 1);
  if (!up) return { digits: kept, exponent };
  const bumped = (BigInt(kept) + 1n).toString();
  return bumped.length > SIGNIFICANT
    ? { digits: bumped.slice(0, SIGNIFICANT), exponent: exponent + 1 }
    : { digits: bumped, exponent };
}

/** The `%g` layout of an already rounded mantissa. */
function renderG(rawDigits: string, exponent: number): string {
  const digits = rawDigits.replace(/0+$/, '') || '0';
  if (exponent < -4 || exponent >= SIGNIFICANT) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return fraction ? `${whole}.${fraction}` : whole;
}
