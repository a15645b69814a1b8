/**
 * Search of a GeoPackage R-tree spatial index (SQLite's rtree module, 2 dimensions, 32-bit float boxes) from the
 * blobs of its `<rtree>_node` table, in SQLite's layout (ext/rtree/rtree.c): node 1 is the root, whose first
 * 2 bytes hold the tree's depth (0: the root is a leaf); every node then has a 2-byte cell count and cells of an
 * 8-byte id (a child's node number, or in a leaf the feature's rowid) and minX, maxX, minY, maxY; all big-endian.
 * SQLite rounds the float32 boxes outward, so they hold the features' true boxes.
 */
import type { Bounds } from '../geo/geotransform.js';

const CELL_BYTES = 8 + 4 * 4;
const ROOT = 1;

/** The rowids of the leaf cells whose boxes meet `bounds` (edges included), in no particular order. */
export function rtreeSearch(readNode: (nodeno: number) => Uint8Array, [minX, minY, maxX, maxY]: Bounds): number[] {
  const ids: number[] = [];
  const root = view(readNode(ROOT));
  const stack: Array<[node: DataView, depth: number]> = [[root, root.byteLength >= 2 ? root.getUint16(0) : 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    const count = node.byteLength >= 4 ? node.getUint16(2) : 0;
    for (let i = 0; i < count && 4 + (i + 1) * CELL_BYTES <= node.byteLength; i++) {
      const at = 4 + i * CELL_BYTES;
      if (node.getFloat32(at + 8) > maxX || node.getFloat32(at + 12) < minX) continue;
      if (node.getFloat32(at + 16) > maxY || node.getFloat32(at + 20) < minY) continue;
      const id = Number(node.getBigInt64(at));
      if (depth === 0) ids.push(id);
      else stack.push([view(readNode(id)), depth - 1]);
    }
  }
  return ids;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
