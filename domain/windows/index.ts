export { MAX_WINDOWS, planSize, planWindows, windowRange, windowsAt } from './window-plan.js';
export { candidatePlan, MAX_BALANCED, selectBalanced, type Balance, type BalanceResult } from './balance.js';
export { cellsPerGroup, drawCellLayout, MAX_CELLS, type CellLayout, type HeldWindow, type LayoutRequest } from './cell-layout.js';
export type { FeatureAnchor, ImageSize } from './window-sequence.js';
export { sceneArea, spreadGroupCounts } from './scene-shares.js';
