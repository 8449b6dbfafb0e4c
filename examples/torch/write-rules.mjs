// npm run rules: writes ddpm-ts's config rules (src/config.ts configRules) to
// examples/torch/ddpm_torch/config_rules.json, which the PyTorch side reads, so that both sides
// accept and refuse the same configs. test/config-rules.test.ts fails when the file is stale.

import { writeFileSync } from 'node:fs';
import { configRules } from 'ddpm-ts';

export const rulesFile = new URL('./ddpm_torch/config_rules.json', import.meta.url);
export const rulesText = () => JSON.stringify(configRules(), null, 2) + '\n';

if (process.argv[1] && new URL(`file://${process.argv[1]}`).href === import.meta.url) {
  writeFileSync(rulesFile, rulesText());
  console.log(`wrote ${rulesFile.pathname}`);
}
