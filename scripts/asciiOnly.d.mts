/** `code` (a JavaScript bundle) with every non-ASCII character escaped; throws where an escape would change its meaning. */
export declare function asciiOnly(code: string, file?: string): string;
