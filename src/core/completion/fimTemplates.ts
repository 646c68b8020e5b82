/**
 * Fill-in-the-middle prompts for servers that need the model's own FIM tokens (Ollama with
 * `raw: true` for a model without `insert`, OpenAI-compatible `/v1/completions` that ignores
 * `suffix`), by model family. The tokens are the models' own, as their model cards and Continue's
 * `AutocompleteTemplate.ts` spell them.
 */
export interface FimTemplate {
  family: string;
  render(prefix: string, suffix: string): string;
  /** Tokens that end a completion (the model's end and file-separator tokens). */
  stop: string[];
}

const TEMPLATES: { test: RegExp; template: FimTemplate }[] = [
  {
    test: /qwen.*coder|codeqwen/i,
    template: {
      family: 'qwen-coder',
      render: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
      stop: ['<|endoftext|>', '<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|fim_pad|>', '<|file_sep|>', '<|im_start|>', '<|im_end|>'],
    },
  },
  {
    test: /deepseek-coder/i,
    template: {
      family: 'deepseek-coder',
      render: (p, s) => `<｜fim▁begin｜>${p}<｜fim▁hole｜>${s}<｜fim▁end｜>`,
      stop: ['<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<|eos_token|>', '<｜end▁of▁sentence｜>'],
    },
  },
  {
    test: /codellama/i,
    template: { family: 'codellama', render: (p, s) => `<PRE> ${p} <SUF>${s} <MID>`, stop: ['<PRE>', '<SUF>', '<MID>', '<EOT>', '</s>'] },
  },
  {
    test: /codestral/i,
    template: { family: 'codestral', render: (p, s) => `[SUFFIX]${s}[PREFIX]${p}`, stop: ['[PREFIX]', '[SUFFIX]', '</s>'] },
  },
  {
    test: /codegemma/i,
    template: {
      family: 'codegemma',
      render: (p, s) => `<|fim_prefix|>${p}<|fim_suffix|>${s}<|fim_middle|>`,
      stop: ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>', '<|file_separator|>', '<end_of_turn>', '<eos>'],
    },
  },
  {
    test: /starcoder|stable-code|granite.*code/i,
    template: {
      family: 'starcoder',
      render: (p, s) => `<fim_prefix>${p}<fim_suffix>${s}<fim_middle>`,
      stop: ['<fim_prefix>', '<fim_suffix>', '<fim_middle>', '<|endoftext|>', '<file_sep>'],
    },
  },
];

/** The FIM template of `model`'s family, or undefined when Harombe knows none. */
export function fimTemplateFor(model: string): FimTemplate | undefined {
  return TEMPLATES.find((t) => t.test.test(model))?.template;
}
