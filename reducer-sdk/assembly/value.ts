/** The SQLite storage classes, numbered as the WIT `value` variant's cases. */
export enum ValueKind {
  Null = 0,
  Integer = 1,
  Real = 2,
  Text = 3,
  Blob = 4,
}

/**
 * A SQL parameter or column value. Reals stay reals (`Value.real(2.0)` is stored as REAL 2.0).
 * The typed getters return a neutral value (0, 0.0, null) when the value is of another kind.
 */
export class Value {
  private constructor(
    public readonly kind: ValueKind,
    private readonly i: i64,
    private readonly f: f64,
    private readonly s: string | null,
    private readonly b: Uint8Array | null,
  ) {}

  static null(): Value {
    return new Value(ValueKind.Null, 0, 0, null, null);
  }
  static integer(v: i64): Value {
    return new Value(ValueKind.Integer, v, 0, null, null);
  }
  static real(v: f64): Value {
    return new Value(ValueKind.Real, 0, v, null, null);
  }
  static text(v: string): Value {
    return new Value(ValueKind.Text, 0, 0, v, null);
  }
  static blob(v: Uint8Array): Value {
    return new Value(ValueKind.Blob, 0, 0, null, v);
  }
  /** `Value.integer(1)` or `Value.integer(0)`: SQLite has no boolean type. */
  static bool(v: bool): Value {
    return Value.integer(v ? 1 : 0);
  }

  isNull(): bool {
    return this.kind === ValueKind.Null;
  }
  /** The integer, or 0 for another kind. */
  asInteger(): i64 {
    return this.i;
  }
  /** The real; an integer converted to f64; 0 for another kind. */
  asReal(): f64 {
    return this.kind === ValueKind.Integer ? <f64>this.i : this.f;
  }
  /** The text, or null for another kind. */
  asText(): string | null {
    return this.s;
  }
  /** The bytes, or null for another kind. */
  asBlob(): Uint8Array | null {
    return this.b;
  }
}
