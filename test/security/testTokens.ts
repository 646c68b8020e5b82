/**
 * The bearer tokens the test run hands to workers, gateways and nodes. Each one is distinctive (a
 * fixed prefix and 16 random hex digits), so that finding one in a log, an output channel or an
 * error message can only mean it leaked: `npm run test:secrets` greps the whole run for them.
 * A flow or test that needs a token takes it from here (the unit, fault and e2e tests too, whose
 * console output the check also greps); a token made up elsewhere is not looked for.
 */
export const testTokens = {
  /** `harombe start --token-file`: what the worker requires. */
  worker: 'hrmbtest-worker-6f3a9c1e47b2d805',
  /** Sent to that worker by clients and nodes that get it wrong: the worker answers 401. */
  wrong: 'hrmbtest-wrong-b81d4e7a02c9f536',
  /** `harombe serve --token`. */
  gateway: 'hrmbtest-gateway-3c7e05a9d1f48b62',
  /** `auth:` of nodes in the integration run's harombe.yaml. */
  node: 'hrmbtest-node-9a2f6d1c83e0b475',
  /** Set Node Token (SecretStorage) in the integration run. */
  stored: 'hrmbtest-stored-e54b19c7a0d3f862',
  /** `auth:` of a node that rejects it with 401, in the integration run. */
  rejected: 'hrmbtest-rejected-27c8f0b4e9a1d356',
  /** `auth:` of a node nothing listens on (connection refused). */
  dead: 'hrmbtest-dead-0d4a7f2c9e61b853',
  /** `auth:` of a node in an untrusted workspace's harombe.yaml, which must never be read. */
  restricted: 'hrmbtest-restricted-5e0c9b72a4d18f36',
  /** The API key of an OpenAI-compatible node or fake (`auth:` of a `kind: openai` node, the `openai` client's `apiKey`). */
  apiKey: 'hrmbtest-apikey-bef8f69d0086c33c',
  /**
   * The `apiKey` the `openai` client insists on, sent to servers that check none (the gateway
   * without `--token`, the fakes): no secret there, but a server that logs it would log a real one.
   */
  anyKey: 'hrmbtest-anykey-b1a30a31270900b3',
  /** Written in a harombe.yaml under test: `server.auth_token`, a node's `auth_token`, a malformed `auth:`. */
  config: 'hrmbtest-config-1a588ea3c37ec410',
  /** `$HAROMBE_AUTH_TOKEN` of a worker under test. */
  env: 'hrmbtest-env-b57878c0282d5421',
  /** A node's new `auth:` after a config change, which makes the registry start the node over. */
  rotated: 'hrmbtest-rotated-4085a71051d87835',
} as const;

export type TestTokenName = keyof typeof testTokens;

/** Shortest piece of a token's random part that counts as a leak: a mask that shows this much of it shows too much. */
const MIN_PIECE = 10;

export interface TokenHit {
  name: TestTokenName;
  /** Offset of the match in the text. */
  index: number;
  length: number;
}

/**
 * Every place in `text` where a test token, or 10 or more consecutive characters of its random
 * part, appears. Overlapping pieces of one leak are reported once.
 */
export function findTokens(text: string): TokenHit[] {
  const hits: TokenHit[] = [];
  for (const [name, token] of Object.entries(testTokens) as [TestTokenName, string][]) {
    const secret = token.slice(token.lastIndexOf('-') + 1);
    let from = 0;
    for (;;) {
      const at = earliestPiece(text, secret, from);
      if (!at) break;
      // Widen the hit back to the token's start when what precedes the piece is the token's beginning.
      const tokenStart = at.index - at.offset - (token.length - secret.length);
      const start = tokenStart >= 0 && text.startsWith(token.slice(0, at.index - tokenStart), tokenStart) ? tokenStart : at.index;
      hits.push({ name, index: start, length: at.index + at.length - start });
      from = at.index + at.length;
    }
  }
  return hits.sort((a, b) => a.index - b.index);
}

/** The first occurrence at or after `from` of any MIN_PIECE-long piece of `secret`, grown as far as it matches. */
function earliestPiece(text: string, secret: string, from: number): { index: number; length: number; offset: number } | undefined {
  let best: { index: number; length: number; offset: number } | undefined;
  for (let offset = 0; offset + MIN_PIECE <= secret.length; offset++) {
    const index = text.indexOf(secret.slice(offset, offset + MIN_PIECE), from);
    if (index < 0 || (best && index >= best.index)) continue;
    let length = MIN_PIECE;
    while (offset + length < secret.length && text[index + length] === secret[offset + length]) length++;
    best = { index, length, offset };
  }
  return best;
}

/** `text` with every test token (and piece of one) replaced by `<token:name>`, so a report never repeats a secret. */
export function redactTokens(text: string): string {
  let out = '';
  let at = 0;
  for (const hit of findTokens(text)) {
    if (hit.index < at) continue;
    out += text.slice(at, hit.index) + `<token:${hit.name}>`;
    at = hit.index + hit.length;
  }
  return out + text.slice(at);
}
