/**
 * Makes sure a namespace has veda's search attributes before a worker polls it: a plain `temporal server start-dev`
 * or a new cluster namespace has none, and every workflow start would fail without them.
 */
import { createRequire } from 'node:module';
import type proto from '@temporalio/proto';
import { messageWithCauses, SetupError } from '../domain/errors.js';
import { VEDA_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

const require = createRequire(import.meta.url);

/** Keyword, as the operator service names it; the protobuf definitions load only when attributes are added. */
function keywordType(): number {
  return (require('@temporalio/proto') as typeof proto).temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
}

/** The part of the operator service (client Connection or worker NativeConnection) this needs. */
export interface SearchAttributeAdmin {
  listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, unknown> | null }>;
  addSearchAttributes(request: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
}

/** The commands that register the attributes by hand: the Temporal CLI (self-hosted) and tcld (Temporal Cloud). */
export function registerCommands(namespace: string, names: string[] = VEDA_SEARCH_ATTRIBUTES.map((k) => k.name)): string {
  return (
    `temporal operator search-attribute create --namespace ${namespace} ${names.map((n) => `--name ${n}`).join(' ')} --type Keyword` +
    ` (Temporal Cloud: tcld namespace search-attributes add --namespace ${namespace} ${names.map((n) => `--search-attribute ${n}=Keyword`).join(' ')})`
  );
}

async function missingAttributes(admin: SearchAttributeAdmin, namespace: string): Promise<string[]> {
  const { customAttributes } = await admin.listSearchAttributes({ namespace });
  return VEDA_SEARCH_ATTRIBUTES.map((k) => k.name).filter((name) => customAttributes?.[name] === undefined);
}

/**
 * Registers veda's search attributes on `namespace` where they are missing (idempotent: an existing one is left
 * alone), and waits until the server lists them. Where registering is not allowed (Temporal Cloud without admin
 * rights, an operator API closed to workers), the SetupError names the missing attributes and the command that
 * registers them.
 */
export async function ensureSearchAttributes(admin: SearchAttributeAdmin, namespace: string, timeoutMs = 30_000): Promise<string[]> {
  let missing: string[];
  try {
    missing = await missingAttributes(admin, namespace);
    if (missing.length === 0) return [];
    await admin.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((name) => [name, keywordType()])) });
  } catch (err) {
    const what = missing! ? `search attributes ${missing.join(', ')} are missing` : 'veda needs the search attributes VedaDatasetId, VedaMlType and VedaStage';
    throw new SetupError(
      `namespace ${namespace}: ${what} and could not be registered (${messageWithCauses(err)}); register them once with: ${registerCommands(namespace, missing!)}`,
      { cause: err },
    );
  }
  // Visible to workflow starts once listed (a cluster with Elasticsearch takes a moment).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const still = await missingAttributes(admin, namespace);
    if (still.length === 0) return missing;
    if (Date.now() > deadline) {
      throw new SetupError(`namespace ${namespace}: search attributes ${still.join(', ')} were added but are not listed after ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

