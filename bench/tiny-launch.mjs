// The cost of one tiny launch, end to end, on WebGPU: a chain of `count` adds of 16 values (each
// reads the last one's output), then one read of the end, timed, per launch; ddpm-ts's webgpu
// backend and TensorFlow.js's (@tensorflow/tfjs-backend-webgpu) on the same device, the same
// process, interleaved, best of `rounds` each. What it measures is what a launch costs beside
// its arithmetic: recording, submitting, uniforms, bind groups. Used by npm run bench -- --backend
// webgpu and by bench/device.sh; alone:
//
//   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node bench/tiny-launch.mjs [count] [rounds]

/** Seconds per launch of a chain of `count` tiny adds on ddpm-ts's webgpu backend (best of `rounds`). */
export async function ddpmTinyLaunch(count, rounds) {
  const ddpm = await import('ddpm-ts');
  const backend = await ddpm.useBackend('webgpu');
  try {
    return { seconds: await bestPerLaunch(ddpmChain(ddpm, count), count, rounds), renderer: backend.renderer };
  } finally {
    ddpm.setBackend('cpu');
  }
}

/** The same on TensorFlow.js's webgpu backend (loaded here; navigator.gpu must exist: ddpm-ts's Node entry installs it). */
export async function tfjsTinyLaunch(count, rounds) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  return { seconds: await tfjsBestPerLaunch(tf, count, rounds, bestPerLaunch) };
}

// The three functions below use nothing but their arguments: bench/page.mjs runs their source in
// a Chromium page, on the page's ddpm-ts and on TF.js's browser bundles.

/**
 * A chain of `count` adds of 16 values on ddpm-ts (the library `ddpm`, its backend chosen): each
 * reads the last one's output; the end is read and checked. Intermediates are freed as they go
 * (tidy), as a training step frees them.
 */
export function ddpmChain(ddpm, count) {
  const x = ddpm.tensor(Float32Array.from({ length: 16 }, (_, i) => i), [16]);
  return async () => {
    const y = ddpm.tidy(() => {
      let y = x;
      for (let i = 0; i < count; i++) y = ddpm.F.add(y, x);
      return y;
    });
    const values = await y.data();
    ddpm.dispose(y);
    if (values[1] !== 1 + count) throw new Error(`tiny-launch: ddpm-ts added wrongly (${values[1]}, expected ${1 + count})`);
  };
}

/** The chain on TF.js (`tf`, its webgpu backend registered), the best of `rounds` seconds per launch (`best`: bestPerLaunch). */
export async function tfjsBestPerLaunch(tf, count, rounds, best) {
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not start');
  await tf.ready();
  // TF.js runs ops on small tensors whose values are on the CPU there (WEBGPU_CPU_FORWARD): off,
  // so each add is a launch, as ddpm-ts's are.
  const forward = tf.env().getBool('WEBGPU_CPU_FORWARD');
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  try {
    const x = tf.tensor1d(Float32Array.from({ length: 16 }, (_, i) => i));
    const chain = async () => {
      const y = tf.tidy(() => {
        let y = x;
        for (let i = 0; i < count; i++) y = tf.add(y, x);
        return y;
      });
      const values = await y.data();
      y.dispose();
      if (values[1] !== 1 + count) throw new Error(`tiny-launch: TF.js added wrongly (${values[1]})`);
    };
    return await best(chain, count, rounds);
  } finally {
    tf.env().set('WEBGPU_CPU_FORWARD', forward);
  }
}

/** Seconds per launch of `chain` (`count` launches), the best of `rounds` after one that compiles. */
export async function bestPerLaunch(chain, count, rounds) {
  await chain();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await chain();
    best = Math.min(best, (performance.now() - t0) / 1000 / count);
  }
  return best;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const count = Number(process.argv[2] ?? 200), rounds = Number(process.argv[3] ?? 5);
  const ours = await ddpmTinyLaunch(count, rounds);
  const theirs = await tfjsTinyLaunch(count, rounds);
  console.log(`tiny launch on ${ours.renderer}: ddpm-ts ${(ours.seconds * 1e6).toFixed(1)} µs, TF.js webgpu ${(theirs.seconds * 1e6).toFixed(1)} µs, ${(ours.seconds / theirs.seconds).toFixed(2)}×`);
  process.exit(0);
}
