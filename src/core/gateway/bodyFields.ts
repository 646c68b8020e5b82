import { HttpError } from './gatewayHttp';

// Checks of request fields the embedding routes share; a bad field is a 400 naming it.

/** A string or a list of strings, as `/api/embed` and `/v1/embeddings` take them. */
export function textInputs(raw: unknown, field: string): string[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') return raw === '' ? [] : [raw];
  if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw as string[];
  throw new HttpError(400, `"${field}" must be a string or a list of strings (token arrays are not taken: send the text).`);
}

/** An optional whole number above zero. */
export function positiveInteger(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw <= 0) throw new HttpError(400, `"${field}" must be a whole number above 0.`);
  return raw;
}

