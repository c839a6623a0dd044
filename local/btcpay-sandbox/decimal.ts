/**
 * Exact decimals the way BTCPay's C# `decimal` keeps them: a value and a scale, so "10.50" stays
 * "10.50" and "10.5" stays "10.5" (Greenfield writes amounts with `decimal.ToString()`). Built on
 * bigint; nothing here ever goes through a binary float.
 */

const DECIMAL_PATTERN = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;
/** C#'s decimal holds at most 28 digits after the point. */
export const MAX_SCALE = 28;

export class Decimal {
  /** value = units / 10^scale */
  private constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  static readonly ZERO = new Decimal(0n, 0);

  static of(units: bigint, scale: number): Decimal {
    if (scale >= 0) return new Decimal(units, scale);
    return new Decimal(units * 10n ** BigInt(-scale), 0);
  }

  /** `12`, `12.50`, `-0.001`, `1.5e3`; undefined for anything else (no separators, no spaces, no NaN). */
  static parse(text: string): Decimal | undefined {
    const match = DECIMAL_PATTERN.exec(text);
    if (!match) return undefined;
    const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
    const scale = fraction.length - Number(exponent);
    if (!Number.isSafeInteger(scale) || scale > MAX_SCALE || scale < -40) return undefined;
    const units = BigInt(`${whole}${fraction}`) * (sign === '-' ? -1n : 1n);
    return Decimal.of(units, scale);
  }

  /** A JSON number as Newtonsoft reads it into a decimal: through its shortest round-trip text. */
  static fromNumber(value: number): Decimal | undefined {
    if (!Number.isFinite(value)) return undefined;
    return Decimal.parse(String(value));
  }

  isZero(): boolean {
    return this.units === 0n;
  }

  sign(): -1 | 0 | 1 {
    return this.units === 0n ? 0 : this.units < 0n ? -1 : 1;
  }

  negate(): Decimal {
    return new Decimal(-this.units, this.scale);
  }

  abs(): Decimal {
    return this.units < 0n ? this.negate() : this;
  }

  plus(other: Decimal): Decimal {
    const scale = Math.max(this.scale, other.scale);
    return new Decimal(this.unitsAt(scale) + other.unitsAt(scale), scale);
  }

  minus(other: Decimal): Decimal {
    return this.plus(other.negate());
  }

  /** Like C#: the scales add up (reduced to 28 places by rounding half to even if they exceed them). */
  times(other: Decimal): Decimal {
    const product = new Decimal(this.units * other.units, this.scale + other.scale);
    return product.scale > MAX_SCALE ? product.round(MAX_SCALE, 'toEven') : product;
  }

  /** Divides by 10^places exactly (moves the point). */
  shiftLeft(places: number): Decimal {
    return new Decimal(this.units, this.scale + places);
  }

  compare(other: Decimal): -1 | 0 | 1 {
    const scale = Math.max(this.scale, other.scale);
    const a = this.unitsAt(scale);
    const b = other.unitsAt(scale);
    return a === b ? 0 : a < b ? -1 : 1;
  }

  lt(other: Decimal): boolean {
    return this.compare(other) < 0;
  }

  gt(other: Decimal): boolean {
    return this.compare(other) > 0;
  }

  /**
   * Rounds to `digits` places; like C#'s `decimal.Round` it never adds places (10.5 stays 10.5).
   * `toEven` is `Math.Round`'s default, `awayFromZero` is `MidpointRounding.AwayFromZero`.
   */
  round(digits: number, mode: 'toEven' | 'awayFromZero'): Decimal {
    if (this.scale <= digits) return this;
    const divisor = 10n ** BigInt(this.scale - digits);
    const negative = this.units < 0n;
    const magnitude = negative ? -this.units : this.units;
    let quotient = magnitude / divisor;
    const twiceRemainder = (magnitude % divisor) * 2n;
    if (twiceRemainder > divisor || (twiceRemainder === divisor && (mode === 'awayFromZero' || quotient % 2n === 1n))) quotient += 1n;
    return new Decimal(negative ? -quotient : quotient, digits);
  }

  /** Plain notation with exactly `scale` places, as C#'s `decimal.ToString(InvariantCulture)`. */
  toString(): string {
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale);
    return `${negative ? '-' : ''}${whole}${this.scale > 0 ? `.${fraction}` : ''}`;
  }

  toJSON(): string {
    return this.toString();
  }

  private unitsAt(scale: number): bigint {
    return this.units * 10n ** BigInt(scale - this.scale);
  }
}

export const sum = (values: readonly Decimal[]): Decimal => values.reduce((total, value) => total.plus(value), Decimal.ZERO);

/**
 * BTCPay's `RoundToSignificant`: round half away from zero to the currency's places, but keep
 * adding places while that would move the value by 1 % or more (so 0.001 USD is not rounded to 0).
 */
export function roundToSignificant(value: Decimal, divisibility: number): Decimal {
  if (value.isZero()) return value;
  for (let places = divisibility; ; places++) {
    const rounded = value.round(places, 'awayFromZero');
    // |rounded - value| / |value| < 0.01, without dividing.
    if (rounded.minus(value).abs().times(Decimal.of(100n, 0)).lt(value.abs())) return rounded;
    if (places >= value.scale) return value;
  }
}
