import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import * as z from 'zod';
import { intents } from '../core/routing/classification';
import { classify, explainClassification } from '../core/routing/classifier';

const lineSchema = z.object({
  prompt: z.string(),
  intent: z.enum(intents as [string, ...string[]]).optional(),
  context_chars: z.number().int().min(0).optional(),
});

/** `harombe classify`: JSON Lines in, `{"tier","reasons"}` lines out, in order. No network, no config. */
export function registerClassifyCommand(program: Command): void {
  program
    .command('classify')
    .description('Read {"prompt","intent?","context_chars?"} JSON Lines on stdin; write {"tier","reasons"} (or {"error"}) per line')
    .option('--explain', 'add "explain" to each line: which rules, words and signals decided the tier, and how strongly')
    .action(async (options: { explain?: boolean }) => {
      const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      let failed = false;
      const out: string[] = [];
      const flush = () => {
        if (out.length) process.stdout.write(out.join(''));
        out.length = 0;
      };
      let lineNo = 0;
      for await (const raw of rl) {
        lineNo++;
        if (raw.trim() === '') continue;
        let line: string;
        try {
          const parsed = lineSchema.safeParse(JSON.parse(raw));
          if (!parsed.success) {
            const issue = parsed.error.issues[0];
            throw new Error(`line ${lineNo}: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`);
          }
          const { prompt, intent, context_chars } = parsed.data;
          const input = { prompt, intent: intent as (typeof intents)[number] | undefined, contextChars: context_chars };
          if (options.explain) {
            const e = explainClassification(input);
            line = JSON.stringify({
              tier: e.tier,
              reasons: e.reasons,
              explain: {
                decided_by: e.decidedBy,
                fixed_rules: e.fixedRules,
                rules: e.rules,
                model: e.model,
                signals: e.signals.map((s) => `${s.weight >= 0 ? '+' : ''}${s.weight.toFixed(2)} ${s.signal}`),
              },
            });
          } else {
            const result = classify(input);
            line = JSON.stringify({ tier: result.tier, reasons: result.reasons });
          }
        } catch (err) {
          failed = true;
          const msg = err instanceof SyntaxError ? `line ${lineNo}: not valid JSON (${err.message})` : (err as Error).message;
          line = JSON.stringify({ error: msg });
        }
        out.push(line + '\n');
        if (out.length >= 256) flush();
      }
      flush();
      if (failed) process.exitCode = 1;
    });
}
