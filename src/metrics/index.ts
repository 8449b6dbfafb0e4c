export { featureStats, frechetDistance, symmetricEigen, sqrtPsd, type FeatureStats } from './frechet.js';
