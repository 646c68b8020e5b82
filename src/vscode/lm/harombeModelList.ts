import type { Tier } from '../../core/routing/classification';
import type { LanguageModelChatInformation } from './lmApi';

/** Must match `contributes.languageModelChatProviders[].vendor`: VS Code refuses undeclared vendors. */
export const harombeVendor = 'harombe';

export interface HarombeModel extends LanguageModelChatInformation {
  readonly tier: Tier | 'auto';
}

const tierNames = ['fast', 'balanced', 'powerful'] as const;

/**
 * The four models Harombe offers VS Code. `toolCalling: true` is what puts them in the chat view's
 * model picker in Agent mode (VS Code 1.139 lists a model there only when `suitableForAgentMode`:
 * tool calling, and `agentMode` is derived from it) and tells callers of `vscode.lm` that tools are
 * passed on: the coordinator hands them to the node and returns the node's calls.
 */
export const harombeModelList: readonly HarombeModel[] = (() => {
  // The nodes' own context sizes vary and may be unknown; these are conservative figures, and the
  // coordinator's node decides the real limit.
  const common = { family: 'harombe', version: '1', maxInputTokens: 32_768, maxOutputTokens: 8_192, capabilities: { toolCalling: true } };
  return [
    { ...common, id: 'harombe-auto', name: 'Harombe (auto)', tier: 'auto' as const, detail: 'routed by intent', tooltip: 'Harombe picks the tier for each request' },
    ...([0, 1, 2] as const).map((tier) => ({
      ...common,
      id: `harombe-tier-${tier}`,
      name: `Harombe tier ${tier}`,
      tier,
      detail: tierNames[tier],
      tooltip: `Always a tier ${tier} (${tierNames[tier]}) node of the Harombe cluster`,
    })),
  ];
})();
