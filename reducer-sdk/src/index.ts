export { type BuildResult, buildReducer, type Manifest } from './build.js';
export { SdkError, type SdkErrorKind } from './errors.js';
export { type Inspection, inspectReducer } from './inspect.js';
export { WORLD } from './world.js';
