export { featureStats, frechetDistance, symmetricEigen, sqrtPsd, type FeatureStats } from './frechet.js';
export type { ReferenceSet, LabelledImages } from './reference.js';
export { faceReference, faceImages, labelledFaces, FEATURE_TRAIN_SEEDS, HELD_OUT_SEEDS } from './face-reference.js';
export { FeatureNet, trainFeatureNet, featuresOf, defaultFeatureRecipe, checkRecipe, type FeatureRecipe } from './feature-net.js';
export { heldOutReal, fidAgainst, maxEvalCount, type HeldOut } from './fid.js';
