export { MAX_WINDOWS, planSize, planWindows, windowRange, type WindowGroup } from './window-plan.js';
export type { FeatureAnchor, ImageSize } from './window-sequence.js';
export { sceneArea, spreadGroupCounts } from './scene-shares.js';
