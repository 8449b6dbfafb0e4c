// TensorFlow.js's WebGL backend in Node, on a headless-gl context: the reference row for our
// webgl backend in `npm run bench -- --backend webgl` (same renderer, same process).
//
// TF.js looks for a canvas to make its context; Node has none, so we hand it one made by
// headless-gl (the package gpu.js uses) and register a backend on it. Two things to know:
// - headless-gl 8.1.6's getUniformLocation finds an array uniform only by `name[0]`, where
//   browsers also accept `name`; without the retry below TF.js's slices read offset 0 (wrong
//   values, no error).
// - It is a context of its own, not gpu.js's: TF.js switches on face culling and the scissor
//   test for its draws, which would drop gpu.js's full-screen quads on a shared context.

/** Registers TF.js's backend 'webgl' on a headless-gl context and selects it; returns the renderer it runs on. */
export async function useTfjsOnHeadlessGl(tf) {
  const { default: createGl } = await import('gl');
  const webgl = await import('@tensorflow/tfjs-backend-webgl');
  const gl = createGl(1, 1, { alpha: false, antialias: false, premultipliedAlpha: false, preserveDrawingBuffer: false, depth: false, stencil: false });
  if (!gl) throw new Error('headless-gl made no context (run under xvfb-run without a display)');
  const find = gl.getUniformLocation.bind(gl);
  gl.getUniformLocation = (program, name) => find(program, name) ?? (name.endsWith(']') ? null : find(program, `${name}[0]`));
  tf.env().set('WEBGL_VERSION', 1);
  tf.env().set('WEBGL_RENDER_FLOAT32_CAPABLE', true);
  tf.env().set('WEBGL_RENDER_FLOAT32_ENABLED', true);
  webgl.setWebGLContext(1, gl);
  // TF.js's webgl kernels are registered under the backend name 'webgl': replace its factory (which looks for a canvas).
  if (tf.findBackendFactory('webgl')) tf.removeBackend('webgl');
  tf.registerBackend('webgl', () => new webgl.MathBackendWebGL(new webgl.GPGPUContext(gl)), 1);
  if (!(await tf.setBackend('webgl'))) throw new Error('TF.js could not start its webgl backend on headless-gl');
  await tf.ready();
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  return `${gl.getParameter(gl.VERSION)}, ${debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)}`;
}
