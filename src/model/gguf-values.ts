// GGUF metadata value types (the `gguf_type` enum of llama.cpp's gguf.h).

/** GGUF metadata value type ids. */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
/** A GGUF metadata value type id. */
export type GgufValueTypeId = (typeof GgufValueType)[keyof typeof GgufValueType];

/**
 * A metadata value as read: numbers (64-bit integers become `bigint` only when they exceed
 * 2^53), booleans, strings, and arrays of these.
 */
export type GgufValue = number | bigint | boolean | string | GgufValue[];

/** The stored type of a metadata value (arrays also name their element type). */
export interface GgufValueTypeInfo {
  type: GgufValueTypeId;
  /** For arrays: the element type (nested arrays give ARRAY and `elements`). */
  elementType?: GgufValueTypeId;
  /** For arrays of arrays: the inner arrays' types. */
  elements?: GgufValueTypeInfo;
}

/** Bytes of one fixed-size value; 0 for STRING and ARRAY. */
export function ggufScalarSize(type: number): number {
  switch (type) {
    case 0:
    case 1:
    case 7:
      return 1;
    case 2:
    case 3:
      return 2;
    case 4:
    case 5:
    case 6:
      return 4;
    case 10:
    case 11:
    case 12:
      return 8;
    default:
      return 0;
  }
}

/** Whether `type` is a GGUF value type id. */
export function isGgufValueType(type: number): type is GgufValueTypeId {
  return Number.isInteger(type) && type >= 0 && type <= 12;
}

const NAMES = Object.fromEntries(Object.entries(GgufValueType).map(([k, v]) => [v, k])) as Record<number, string>;

/** "UINT32", "STRING", … for a type id. */
export function ggufValueTypeName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}
