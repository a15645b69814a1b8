/** Parsers of `veda` command arguments: each checks one value and says what the option takes when it is wrong. */
import { InvalidArgumentError } from 'commander';

export function intArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function shareArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a share between 0 and 1`);
    return n;
  };
}

export function numberList(name: string, count?: number) {
  return (value: string): number[] => {
    const parts = value.split(',').map((s) => Number(s.trim()));
    if (parts.some((n) => !Number.isFinite(n)) || (count !== undefined && parts.length !== count)) {
      throw new InvalidArgumentError(`${name} takes ${count ?? 'a list of'} comma-separated numbers`);
    }
    return parts;
  };
}

/** A repeatable option's values, in the order given. */
export function collect(value: string, previous?: string[]): string[] {
  return [...(previous ?? []), value];
}

/** A comma-separated list of non-empty names. */
export function nameList(name: string) {
  return (value: string): string[] => {
    const parts = value.split(',').map((s) => s.trim());
    if (parts.some((s) => s === '')) throw new InvalidArgumentError(`${name} takes comma-separated names, none empty`);
    return parts;
  };
}

export function tileSizeArg(value: string): [number, number] {
  const parts = value.split(/[,x]/).map(Number);
  const [w, h] = parts.length === 1 ? [parts[0], parts[0]] : parts;
  if (parts.length > 2 || !Number.isInteger(w) || !Number.isInteger(h) || w! < 1 || h! < 1) {
    throw new InvalidArgumentError('--tile-size takes W,H (or one number for a square tile)');
  }
  return [w!, h!];
}

/** `equal`, or class ratios like `water=1,urban=2`. */
export function balanceArg(value: string): Record<string, number> | 'equal' {
  return value.trim() === 'equal' ? 'equal' : namedCounts('--balance', value);
}

/** `train=70,val=20,test=10` -> { train: 70, val: 20, test: 10 }. */
export function groupCounts(value: string): Record<string, number> {
  return namedCounts('--groups', value);
}

function namedCounts(flag: string, value: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=\s]+)=(\d+)$/.exec(part);
    if (!match) throw new InvalidArgumentError(`${flag} takes name=count pairs like a=70,b=30, got '${part}'`);
    if (match[1]! in out) throw new InvalidArgumentError(`${flag} names ${match[1]} twice`);
    out[match[1]!] = Number(match[2]);
  }
  if (Object.keys(out).length === 0) throw new InvalidArgumentError(`${flag} needs at least one name=count pair`);
  return out;
}
