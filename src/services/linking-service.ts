/**
 * `linkImage` lives in src/linking/ (the orchestrator in linking-service.ts, one file per part).
 * These re-exports keep the import path that branches written before the move still use.
 */
export {
  createLinkingParts,
  LinkingService,
  type LinkingParts,
  type LinkingServiceDeps,
} from '../linking/linking-service.js';
export { graphSidesOf } from '../linking/graph-sides.js';
export {
  nilThresholds,
  type LinkImageInput,
  type LinkImageResult,
  type LinkOptions,
  type LinkTriple,
  type NilThresholds,
} from '../linking/link-result.js';
export type { LinkingLinker, LinkingModels } from '../linking/linking-models.js';
export { LINK_STAGES, type LinkStage, type StageTiming } from '../linking/stage-clock.js';
