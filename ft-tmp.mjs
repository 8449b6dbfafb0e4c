import { metrics } from 'ddpm-ts';
const t0 = performance.now();
const r = await metrics.loadFaceFeatures({ ...metrics.defaultFeatureRecipe(Number(process.argv[2]), 3), steps: Number(process.argv[3]) }, { cacheDir: '/tmp/t19/cache' });
console.log(r.trained, ((performance.now() - t0) / 1000).toFixed(1), 's', JSON.stringify(r.accuracy));
