/** Typed arrays become plain arrays in JSON (`--json` output, API bodies): `Uint8Array [1, 0]`, not `{"0":1,"1":0}`. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number>) : value;
}
