// The UNet of ../shared/README.md written in TensorFlow.js (NHWC), loading the same weights as
// ddpm-ts, so the benchmark compares the same model, batch, loss and optimizer.
//
// Two workarounds (see the performance notes): the `wasm` backend has no Conv2DBackpropFilter
// kernel, and the `cpu` backend's nearest-neighbour resize gradient is wrong at batch > 1. So
// convolutions carry a custom gradient whose filter part is im2col + one matMul (used on every
// backend, for a like-for-like comparison), and upsampling is reshape + tile (its gradient is a
// sum over each 2×2 block on every backend).

/** im2col of NHWC x for a k×k kernel: [B·Ho·Wo, k·k·Cin]. */
function im2col(tf, x, k, stride, pad) {
  const [B, H, W, C] = x.shape;
  const Ho = Math.floor((H + 2 * pad - k) / stride) + 1, Wo = Math.floor((W + 2 * pad - k) / stride) + 1;
  const xp = pad ? tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) : x;
  const patches = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
    patches.push(tf.stridedSlice(xp, [0, i, j, 0], [B, i + (Ho - 1) * stride + 1, j + (Wo - 1) * stride + 1, C], [1, stride, stride, 1]));
  }
  return tf.reshape(tf.stack(patches, 3), [B * Ho * Wo, k * k * C]);
}

export function makeConv(tf) {
  return (x, w, stride, pad) => {
    const k = w.shape[0];
    const padding = pad === 0 ? 'valid' : [[0, 0], [pad, pad], [pad, pad], [0, 0]];
    const op = tf.customGrad((xx, ww, save) => {
      save([xx, ww]);
      return {
        value: tf.conv2d(xx, ww, stride, padding),
        gradFunc: (dy, [xs, ws]) => {
          const dx = tf.conv2dTranspose(dy, ws, xs.shape, stride, padding);
          const cols = im2col(tf, xs, k, stride, pad);
          const dw = tf.reshape(tf.matMul(cols, tf.reshape(dy, [-1, dy.shape[3]]), true, false), ws.shape);
          return [dx, dw];
        },
      };
    });
    return op(x, w);
  };
}

/**
 * weights: Map name -> {data: Float32Array, shape} in PyTorch layout. Returns {forward(x, temb), variables}.
 * x is NHWC; temb is the sinusoidal embedding [B, base] (computed by the caller).
 */
export function tfUNet(tf, config, weights, prefix = "") {
  const conv2d = makeConv(tf);
  const vars = new Map();
  for (const [name, { data, shape }] of weights) {
    let t = tf.tensor(data, shape);
    if (shape.length === 4) t = tf.transpose(t, [2, 3, 1, 0]); // [out,in,kh,kw] -> [kh,kw,in,out]
    else if (shape.length === 2) t = tf.transpose(t, [1, 0]); // [out,in] -> [in,out]
    vars.set(name, tf.variable(t, true, prefix + name));
  }
  const P = (n) => {
    const v = vars.get(n);
    if (!v) throw new Error(`tfjs UNet: no weight ${n}`);
    return v;
  };
  const G = config.groups;
  const conv = (x, name, stride = 1) => {
    const w = P(`${name}.weight`);
    const k = w.shape[0];
    return tf.add(conv2d(x, w, stride, k === 3 ? 1 : 0), P(`${name}.bias`));
  };
  const linear = (x, name) => tf.add(tf.matMul(x, P(`${name}.weight`)), P(`${name}.bias`));
  const norm = (x, name) => {
    const [B, H, W, C] = x.shape;
    const xg = tf.reshape(x, [B, H, W, G, C / G]);
    const { mean, variance } = tf.moments(xg, [1, 2, 4], true);
    const y = tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))), [B, H, W, C]);
    return tf.add(tf.mul(y, P(`${name}.weight`)), P(`${name}.bias`));
  };
  const silu = (x) => tf.mul(x, tf.sigmoid(x));
  const res = (x, temb, name, cout) => {
    let h = conv(silu(norm(x, `${name}.norm1`)), `${name}.conv1`);
    h = tf.add(h, tf.reshape(linear(silu(temb), `${name}.tembProj`), [x.shape[0], 1, 1, cout]));
    h = conv(silu(norm(h, `${name}.norm2`)), `${name}.conv2`);
    return tf.add(x.shape[3] === cout ? x : conv(x, `${name}.skip`), h);
  };
  const attn = (x, name) => {
    const [B, H, W, C] = x.shape;
    const qkv = conv(norm(x, `${name}.norm`), `${name}.qkv`);
    const part = (i) => tf.reshape(tf.slice(qkv, [0, 0, 0, i * C], [B, H, W, C]), [B, H * W, C]);
    const w = tf.softmax(tf.mul(tf.matMul(part(0), part(1), false, true), 1 / Math.sqrt(C)));
    return tf.add(x, conv(tf.reshape(tf.matMul(w, part(2)), [B, H, W, C]), `${name}.proj`));
  };
  const up2 = tf.customGrad((x, save) => {
    const [B, H, W, C] = x.shape;
    return {
      // Columns, then rows, each a tile of rank 4 (TF.js's webgpu backend tiles rank 5 and up on
      // the CPU, through a synchronous read Node cannot do).
      value: tf.reshape(tf.tile(tf.reshape(tf.tile(tf.reshape(x, [B * H, W, 1, C]), [1, 1, 2, 1]), [B, H, 1, 2 * W * C]), [1, 1, 2, 1]), [B, 2 * H, 2 * W, C]),
      gradFunc: (dy) => tf.reshape(tf.sum(tf.reshape(tf.sum(tf.reshape(dy, [B * H, 2, 2 * W * C]), 1), [B * H * W, 2, C]), 1), [B, H, W, C]),
    };
  });
  const { baseChannels: base, channelMults: mults, numResBlocks: nrb, attnResolutions } = config;

  function forward(x, tembIn) {
    const temb = linear(silu(linear(tembIn, 'time.dense0')), 'time.dense1');
    let h = conv(x, 'convIn');
    const hs = [h];
    let resolution = config.imageSize;
    mults.forEach((m, i) => {
      for (let j = 0; j < nrb; j++) {
        h = res(h, temb, `down.${i}.res.${j}`, base * m);
        if (attnResolutions.includes(resolution)) h = attn(h, `down.${i}.attn.${j}`);
        hs.push(h);
      }
      if (i < mults.length - 1) {
        h = conv(h, `down.${i}.downsample`, 2);
        hs.push(h);
        resolution /= 2;
      }
    });
    const mid = base * mults[mults.length - 1];
    h = res(attn(res(h, temb, 'mid.res1', mid), 'mid.attn'), temb, 'mid.res2', mid);
    for (let i = mults.length - 1; i >= 0; i--) {
      for (let j = 0; j <= nrb; j++) {
        h = res(tf.concat([h, hs.pop()], 3), temb, `up.${i}.res.${j}`, base * mults[i]);
        if (attnResolutions.includes(resolution)) h = attn(h, `up.${i}.attn.${j}`);
      }
      if (i > 0) {
        h = conv(up2(h), `up.${i}.upsample`);
        resolution *= 2;
      }
    }
    return conv(silu(norm(h, 'normOut')), 'convOut');
  }
  return { forward, variables: vars };
}
