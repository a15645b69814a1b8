import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What h5py sees in one dataset: numpy dtype string, shape, storage, and its content. */
export interface H5pyDataset {
  dtype: string;
  shape: number[];
  chunks: number[] | null;
  compression: string | null;
  compressionOpts: number | null;
  /** sha256 of the C-ordered bytes (numeric datasets). */
  sha256: string | null;
  /** Decoded UTF-8 strings (string datasets). */
  strings: string[] | null;
}

export interface H5pySummary {
  /** Root attributes: strings and numbers as Python gives them. */
  attrs: Record<string, string | number>;
  /** Groups in the order h5py lists them. */
  groupOrder: string[];
  groups: Record<string, Record<string, H5pyDataset>>;
}

const SUMMARY_SCRIPT = `
import hashlib, json, sys
import h5py, numpy as np

def attr(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value

def dataset(d):
    out = {"dtype": d.dtype.str, "shape": list(d.shape), "chunks": list(d.chunks) if d.chunks else None,
           "compression": d.compression, "compressionOpts": d.compression_opts, "sha256": None, "strings": None}
    if h5py.check_string_dtype(d.dtype):
        out["strings"] = [str(s) for s in d.asstr()[()]]
    else:
        out["sha256"] = hashlib.sha256(np.ascontiguousarray(d[()]).tobytes()).hexdigest()
    return out

with h5py.File(sys.argv[1], "r") as f:
    summary = {"attrs": {k: attr(v) for k, v in f.attrs.items()}, "groupOrder": list(f.keys()), "groups": {}}
    for name, group in f.items():
        summary["groups"][name] = {k: dataset(d) for k, d in group.items()}
print(json.dumps(summary))
`;

/** Reads an HDF5 file with h5py (the default `python3`) and returns what it sees, independently of h5wasm. */
export async function summarizeWithH5py(path: string): Promise<H5pySummary> {
  const { stdout } = await run('python3', ['-c', SUMMARY_SCRIPT, path], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as H5pySummary;
}

const SAMPLES_SCRIPT = `
import hashlib, json, sys
import h5py, numpy as np

sha = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
with h5py.File(sys.argv[1], "r") as f:
    out = {}
    for name, g in f.items():
        rows = []
        for i in range(g["images"].shape[0]):
            label = sha(g["labels"][i]) if "labels" in g else None
            rows.append(f"{','.join(str(int(v)) for v in g['windows'][i])} {g['images'][i].dtype.str} {sha(g['images'][i])} {label}")
        out[name] = sorted(rows)
print(json.dumps(out))
`;

/**
 * Each group's samples as h5py reads them, one line per sample (window, image dtype and hash, label hash), sorted:
 * equal for two files that hold the same samples whatever their order, ids and sources.
 */
export async function samplesWithH5py(path: string): Promise<Record<string, string[]>> {
  const { stdout } = await run('python3', ['-c', SAMPLES_SCRIPT, path], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, string[]>;
}

const ROWS_SCRIPT = `
import json, sys
import h5py

with h5py.File(sys.argv[1], "r") as f:
    names = sys.argv[2].split(",")
    print(json.dumps({g: {n: [row.ravel().tolist() for row in f[g][n][()]] for n in names} for g in f}))
`;

/** The rows of some numeric datasets of every group, in file order, each row flattened, as h5py reads them. */
export async function rowsWithH5py(path: string, datasets: string[]): Promise<Record<string, Record<string, number[][]>>> {
  const { stdout } = await run('python3', ['-c', ROWS_SCRIPT, path, datasets.join(',')], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, Record<string, number[][]>>;
}
