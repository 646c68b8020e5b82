const baseUrls = new Map<string, { origin: string; pathPrefix: string; host: string }>();

/**
 * The origin, path prefix and host of a node's base URL, parsed once per URL: undici's top-level
 * `request(url)` parses the whole URL on every call, a measurable share of a proxied request.
 */
export function splitBaseUrl(baseUrl: string): { origin: string; pathPrefix: string; host: string } {
  let split = baseUrls.get(baseUrl);
  if (!split) {
    const url = new URL(baseUrl);
    split = { origin: url.origin, pathPrefix: url.pathname.replace(/\/+$/, ''), host: url.host };
    if (baseUrls.size > 1024) baseUrls.clear();
    baseUrls.set(baseUrl, split);
  }
  return split;
}
