// What the example scripts share: flags parsed with Node's util.parseArgs, and errors printed as
// one line ("error: …") instead of a stack trace. DDPM_DEBUG=1 prints the stack as well.

import { parseArgs } from 'node:util';
import { ConfigError } from 'ddpm-ts';

/** A mistake in how the script was called: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/**
 * Parses argv against `options` ({ name: { type: 'string' | 'boolean', short?: 'h', number?: true } }).
 * Unknown options, missing values and non-numbers are UsageErrors that name the flag.
 */
export function parseFlags(argv, options) {
  const spec = Object.fromEntries(Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short && { short: o.short }) }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: spec, strict: false, allowPositionals: true, tokens: true });
  } catch (e) {
    throw new UsageError(e.message);
  }
  const values = {};
  for (const token of parsed.tokens) {
    if (token.kind === 'positional') throw new UsageError(`unexpected argument ${token.value}`);
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.type === 'boolean') {
      if (token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    // strict: false reads "--out --resume" as --out with no value: say so rather than take the next flag.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) throw new UsageError(`${token.rawName} needs a value`);
    if (option.number) {
      const n = token.value.trim() === '' ? NaN : Number(token.value);
      if (!Number.isFinite(n)) throw new UsageError(`${token.rawName} needs a number, got ${JSON.stringify(token.value)}`);
      values[token.name] = n;
    } else values[token.name] = token.value;
  }
  return values;
}

/**
 * The config's own messages, with each field that a flag set named as the flag
 * ("sample.steps must be …" becomes "--steps must be …").
 */
export function flagProblems(error, fieldToFlag) {
  return error.problems.map((p) => Object.entries(fieldToFlag).reduce((text, [field, flag]) => text.replace(new RegExp(`^${field.replace('.', '\\.')}\\b`), flag), p));
}

/** Runs the script's body; any error becomes one line on stderr and an exit code (2: usage or config, 1: anything else). */
export async function run(usage, body) {
  try {
    await body();
  } catch (e) {
    if (process.env.DDPM_DEBUG) console.error(e);
    const usageError = e instanceof UsageError;
    console.error(`error: ${e instanceof Error ? e.message : String(e)}${usageError ? `\n\n${usage}` : ''}`);
    process.exit(usageError || e instanceof ConfigError ? 2 : 1);
  }
}
