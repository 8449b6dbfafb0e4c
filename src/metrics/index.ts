export { featureStats, frechetDistance, symmetricEigen, sqrtPsd, type FeatureStats } from './frechet.js';
export { FaceFeatureNet, trainFaceFeatures, featuresOf, faceImages, labelledFaces, defaultFeatureRecipe, FEATURE_TRAIN_SEEDS, HELD_OUT_SEEDS, type FeatureRecipe } from './face-features.js';
export { heldOutFaces, fidAgainst, type HeldOutFaces } from './fid.js';
