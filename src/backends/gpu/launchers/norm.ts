// GroupNorm (optionally followed by SiLU) and its backward (kernels/norm.ts): two launches
// forward (the statistics, then the normalised output) and three backward, sliced along the
// batch; γ's and β's gradients (side by side in one output) sum over it, so their slices' outputs are added.

import { sizeOf } from '../../../util/shape.js';
import type { Storage, View } from '../../backend.js';
import { groupNorm as groupNormKernel, groupNormChannelSums, groupNormDx, groupStats } from '../../../../kernels/norm.js';
import type { Arg, Launcher } from '../launch.js';
import { sliced } from '../slicing.js';
import { combine } from './elementwise.js';
import { reduceWithin } from './reduce.js';

/** The sizes the norm kernels read, and γ, β contiguous from their offsets (ones and zeros when there is no affine). */
function normInputs(l: Launcher, x: View, gamma: View | null, beta: View | null, groups: number) {
  const N = x.shape[0]!, C = x.shape[1]!, S = sizeOf(x.shape.slice(2)), P = C / groups;
  const sizes = { N, C, S, G: groups, P, M: P * S };
  const gs = gamma ? l.contiguousAt(gamma) : l.filled(C, 1);
  const bs = beta ? l.contiguousAt(beta) : l.filled(C, 0);
  return { sizes, xs: l.contiguous(x), gs, bs };
}

export function groupNorm(l: Launcher, x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
  const [y, stats] = sliced(l, {
    name: 'groupNorm', items: x.shape[0]!, outputs: [{ item: sizeOf(x.shape.slice(1)) }, { item: 2 * groups }], sliced: [{ view: x, axis: 0 }], whole: [gamma, beta],
  }, ([x], [gamma, beta]) => {
    const { y, stats } = groupNormWithin(l, x!, gamma!, beta!, groups, eps, silu);
    return [y, stats];
  });
  return { y: y!, stats: stats! };
}

function groupNormWithin(l: Launcher, x: View, gamma: View | null, beta: View | null, groups: number, eps: number, silu: boolean): { y: Storage; stats: Storage } {
  const { sizes, xs, gs, bs } = normInputs(l, x, gamma, beta, groups);
  const stats = l.run('groupStats', groupStats, 2 * sizes.N * groups, { ...sizes, eps }, xs);
  const y = l.run('groupNorm', groupNormKernel, sizes.N * sizes.C * sizes.S, { ...sizes, silu: silu ? 1 : 0 }, xs, l.arg(stats), gs, bs, gs.at, bs.at);
  l.done(xs.temp, gs.temp, bs.temp);
  return { y, stats };
}

export function groupNormBackward(l: Launcher, dy: View, x: View, gamma: View | null, beta: View | null, stats: Storage, groups: number, silu: boolean): { dx: Storage; daffine: Storage } {
  const N = x.shape[0]!, C = x.shape[1]!;
  const statsView: View = { storage: stats, shape: [N, groups, 2], strides: [2 * groups, 2, 1], offset: 0 };
  const [dx, daffine] = sliced(l, {
    name: 'groupNormBackward', items: N,
    outputs: [{ item: sizeOf(x.shape.slice(1)) }, { size: 2 * C, combine: 'add' }],
    sliced: [dy, x, statsView].map((view) => ({ view, axis: 0 })), whole: [gamma, beta],
  }, ([dy, x, stats], [gamma, beta]) => {
    const { dx, daffine } = groupNormBackwardWithin(l, dy!, x!, gamma!, beta!, stats!, groups, silu);
    return [dx, daffine];
  }, (op, parts) => combine(l, op, parts));
  return { dx: dx!, daffine: daffine! };
}

/** stats is an [N, groups, 2] view, read contiguously. */
function groupNormBackwardWithin(l: Launcher, dy: View, x: View, gamma: View | null, beta: View | null, stats: View, groups: number, silu: boolean): { dx: Storage; daffine: Storage } {
  const { sizes, xs, gs, bs } = normInputs(l, x, gamma, beta, groups);
  const dys = l.contiguous(dy), statsIn = l.contiguous(stats);
  const constants = { ...sizes, silu: silu ? 1 : 0 };
  const inputs: Arg[] = [dys, xs, statsIn, gs, bs];
  const sums = l.run('groupNormChannelSums', groupNormChannelSums, 2 * sizes.N * sizes.C, constants, ...inputs, gs.at, bs.at);
  const dx = l.run('groupNormDx', groupNormDx, sizes.N * sizes.C * sizes.S, constants, ...inputs, l.arg(sums), gs.at, bs.at);
  // dγ_c = Σ_n sums[n, c, 0] and dβ_c = Σ_n sums[n, c, 1], side by side: the sums viewed as [2, C, N], added over the images.
  const daffine = reduceWithin(l, 'sum', { storage: sums, shape: [2, sizes.C, sizes.N], strides: [1, 2, 2 * sizes.C], offset: 0 }, [2]);
  l.done(dys.temp, xs.temp, statsIn.temp, gs.temp, bs.temp, sums);
  return { dx, daffine };
}
