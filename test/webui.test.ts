/**
 * The Temporal Web UI (2.54) as veda's dashboard, seen through a real headless Chromium: the dataset document's
 * workflows link opens the UI's list filtered by the VedaDatasetId search attribute, and a workflow's page shows
 * what veda wrote for people: activity summaries on the timeline, the workflow summary, the current details and the
 * search attributes.
 * Screenshots land in test/.artifacts/ for a human to look at.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VedaCollection } from '../client/collection.js';
import type { WorkflowRun } from '../client/workflow-run.js';
import { chromiumMissingReason, launchChromium } from './support/browser.js';
import { OLINDA, startTestStack, type TestStack } from './support/stack.js';

const ARTIFACTS = fileURLToPath(new URL('./.artifacts/', import.meta.url));
const GROUPS = { train: 8, test: 2 };
const TOTAL = GROUPS.train + GROUPS.test;

// CI sets VEDA_REQUIRE_BROWSER=1: there a missing Chromium fails every test (in newPage) instead of skipping them.
// Failing in the tests rather than in beforeAll keeps the failures in vitest's failed-test count.
const missingBrowser = chromiumMissingReason();
const skipReason = missingBrowser && !process.env.VEDA_REQUIRE_BROWSER ? missingBrowser : null;
if (skipReason) console.warn(`webui.test.ts skipped: ${skipReason} (set VEDA_REQUIRE_BROWSER=1 to fail instead)`);

let browser: Browser | undefined;
let stack: TestStack | undefined;
let olinda: VedaCollection;
let olindaRun: WorkflowRun;
let otherRun: WorkflowRun;

async function newPage(): Promise<Page> {
  if (!browser) throw new Error(`no browser to open the Web UI: ${missingBrowser}`);
  return browser.newPage({ viewport: { width: 1400, height: 900 } });
}

/** Text of a summary / details box: the UI renders that markdown in an iframe of its own, typesetting "10/10" with a fraction slash. */
async function renderedText(page: Page, iframeId: string, waitFor: string): Promise<string> {
  const body = page.frameLocator(`#${iframeId}`).locator('body');
  await body.getByText(waitFor).waitFor();
  return (await body.innerText()).replaceAll('\u2044', '/').trim();
}

describe.skipIf(skipReason !== null)('the Temporal Web UI as the dashboard', () => {
  beforeAll(async () => {
    if (missingBrowser) return;
    browser = await launchChromium();
    stack = await startTestStack({ stack: { ui: true } });
    await mkdir(ARTIFACTS, { recursive: true });
    const veda = stack.veda();
    olinda = await veda.create({ name: 'olinda-webui', mlType: 'classification', tileSize: [64, 64], classes: OLINDA.classes });
    const other = await veda.create({ name: 'other-webui', mlType: 'segmentation', tileSize: [32, 32], classes: OLINDA.classes });
    [olindaRun, otherRun] = await Promise.all([
      olinda.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: GROUPS, seed: 5 }),
      other.ingest({ image: OLINDA.image, labels: OLINDA.labels, groups: { train: 2 }, seed: 5 }),
    ]);
    await Promise.all([olindaRun.result(), otherRun.result()]);
  }, 360_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.teardown();
  });

  it("opens the dataset document's workflows link as the UI's list filtered to that dataset", async () => {
    const page = await newPage();
    const href = (await olinda.doc()).links.workflows?.href;
    expect(href).toBe(`${stack!.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`VedaDatasetId="${olinda.id}"`)}`);
    await page.goto(href!);
    const row = page.getByRole('link', { name: olindaRun.workflowId, exact: true });
    await row.waitFor();
    expect(await row.isVisible()).toBe(true);
    // The list has rendered (our row is there): the other dataset's workflow is filtered out.
    expect(await page.getByRole('link', { name: otherRun.workflowId, exact: true }).count()).toBe(0);
    expect(await page.getByText(`VedaDatasetId = "${olinda.id}"`).isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'webui-list.png') });
    await page.close();
  });

  it("shows the workflow's activity summaries, summary and current details on its page", async () => {
    const page = await newPage();
    await page.goto(olindaRun.uiUrl!);
    await page.getByRole('heading', { name: olindaRun.workflowId }).waitFor();

    // Timeline: each chunk activity says what it did (posting caches the chips of the windows it posts).
    const ingestChunk = page.getByText(`label, cache and post windows 0-${TOTAL - 1} of ${TOTAL} of dataset ${olinda.id} (chunk 1/1)`);
    await ingestChunk.waitFor();
    await page.getByText(`count datapoints and update the bbox of dataset ${olinda.id}`).waitFor();
    await ingestChunk.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'webui-timeline.png') });

    // User Metadata: the static summary set at start, and the current details (the last progress line).
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    const summary = await renderedText(page, 'user-metadata-summary', olinda.id);
    expect(summary).toBe(`ingest ${TOTAL} random windows of ${path.basename(OLINDA.image)} (dataset olinda-webui ${olinda.id}, classification)`);
    const details = await renderedText(page, 'user-metadata-current-details', 'cached');
    expect(details).toBe(`ingest ${olinda.id}: done ${TOTAL}/${TOTAL} (100%); groups test ${GROUPS.test}, train ${GROUPS.train}; cached 100%`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'webui-workflow.png') });
    await page.close();
  });

  it("shows the dataset id, ML type and final stage among the workflow's search attributes", async () => {
    const page = await newPage();
    await page.goto(olindaRun.uiUrl!);
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    // A read-only JSON editor holds them.
    const editor = page.getByRole('textbox', { name: 'Search Attributes' });
    await editor.getByText('VedaStage').waitFor();
    expect(JSON.parse(await editor.innerText())).toMatchObject({ VedaDatasetId: olinda.id, VedaMlType: 'classification', VedaStage: 'done' });
    await page.close();
  });
});
