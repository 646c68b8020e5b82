import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { BearerAuth } from '../util/bearerAuth';

export interface GuardOptions {
  /** The address the server is bound to; the Host check applies only to loopback binds. */
  bindHost: string;
  /** When set, every request but `/health` must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Origins allowed besides loopback pages and VS Code webviews, e.g. `https://my.app`. */
  allowedOrigins?: readonly string[];
  /** How refusals name the server; default `the gateway`. */
  serverName?: string;
}

export type GuardVerdict = { ok: true; corsOrigin?: string } | { ok: false; status: 401 | 403; message: string };

/**
 * Defends a local endpoint against DNS rebinding and cross-site requests from web pages (the
 * attack of CVE-2024-28224 on Ollama): a page on evil.example whose name is made to resolve to
 * 127.0.0.1 still sends `Host: evil.example`, and a page's fetch carries its `Origin`.
 */
export class RequestGuard {
  private readonly loopbackBind: boolean;
  private readonly origins: ReadonlySet<string>;
  private readonly auth: BearerAuth;

  constructor(private readonly opts: GuardOptions) {
    this.loopbackBind = isLoopbackHost(opts.bindHost);
    this.origins = new Set((opts.allowedOrigins ?? []).map((o) => o.toLowerCase()));
    this.auth = new BearerAuth(opts.token);
  }

  check(req: IncomingMessage, path: string): GuardVerdict {
    const host = req.headers.host;
    // On a non-loopback bind the server is meant to be reached by other names (as Ollama does); the token guards it.
    if (this.loopbackBind && (host === undefined || !isLoopbackHost(stripPort(host)))) {
      return { ok: false, status: 403, message: `Host "${echo(host ?? '')}" is not a loopback name; ${this.opts.serverName ?? 'the gateway'} only answers requests addressed to localhost or 127.0.0.1.` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin)) {
      return { ok: false, status: 403, message: `Origin "${echo(origin)}" may not use ${this.opts.serverName ?? 'the gateway'}; only local pages and VS Code webviews may.` };
    }
    if (this.auth.enabled && path !== '/health' && req.method !== 'OPTIONS' && !this.auth.check(req.headers.authorization)) {
      return { ok: false, status: 401, message: 'Missing or wrong bearer token (Authorization: Bearer <token>).' };
    }
    return { ok: true, corsOrigin: origin };
  }

  private originAllowed(origin: string): boolean {
    const o = origin.toLowerCase();
    if (this.origins.has(o)) return true;
    if (o.startsWith('vscode-webview://') || o.startsWith('vscode-file://')) return true;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      // Includes the opaque origin "null" of sandboxed frames, which any foreign page can produce.
      return false;
    }
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopbackHost(url.hostname);
  }
}

/** A header quoted in an answer and a log line: a client may send 16 KB of it, and control characters would forge log lines. */
function echo(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}… (${value.length} characters)` : clean;
}

/** `localhost`, `*.localhost`, 127.0.0.0/8, ::1 (with or without brackets), ::ffff:127.x. */
export function isLoopbackHost(host: string): boolean {
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v = isIP(h);
  if (v === 4) return h.startsWith('127.');
  if (v === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  // More than one colon without brackets is a bare IPv6 address, not host:port.
  return colon >= 0 && host.indexOf(':', colon + 1) < 0 ? host.slice(0, colon) : host;
}
