/**
 * Who may call the chaos proxy's admin API (/__switchyard/*). The proxy listens on loopback, but a
 * web page in the user's browser can reach loopback too: by a cross-origin request (a text/plain
 * POST needs no preflight), or through DNS rebinding (its own hostname re-pointed at 127.0.0.1, so
 * the request is same-origin for the browser but carries the page's Host). So an admin call needs
 * all three: a Host that names this proxy, no cross-site Origin, and the proxy's token, which a page
 * cannot know and cannot send without a preflight the proxy never answers.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/** The admin token may come in this header, or as `Authorization: Bearer <token>`. */
/** Where the chaos proxy's admin API lives. */
export const ADMIN_PREFIX = '/__switchyard/';

export const ADMIN_TOKEN_HEADER = 'x-switchyard-admin-token';
/** Where `switchyard serve` reads a fixed admin token from (else it makes one and prints it). */
export const ADMIN_TOKEN_ENV = 'SWITCHYARD_ADMIN_TOKEN';

/** 192 random bits, URL-safe. */
export function newAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface AdminGuard {
  token: string;
  /** Host names (no port) admin calls may name besides loopback: the bound address, configured ones. */
  hosts: readonly string[];
}

export interface AdminRefusal {
  status: 401 | 403;
  type: 'unauthorized' | 'forbidden_host' | 'cross_origin';
  message: string;
}

/** The host name of a Host header or an origin's authority: lowercased, port and IPv6 brackets off. */
function hostName(authority: string): string {
  const lower = authority.trim().toLowerCase();
  if (lower.startsWith('[')) return lower.slice(1, lower.indexOf(']'));
  const colon = lower.lastIndexOf(':');
  return colon > 0 && isIP(lower) !== 6 ? lower.slice(0, colon) : lower;
}

/** Whether a host name (no port, no brackets) is this machine's loopback. */
export function isLoopback(name: string): boolean {
  return name === 'localhost' || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

function allowedHost(name: string, guard: AdminGuard): boolean {
  return isLoopback(name) || guard.hosts.some((host) => hostName(host) === name);
}

/** The token a request presents, if any. */
function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const own = headers[ADMIN_TOKEN_HEADER];
  if (typeof own === 'string') return own.trim();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return bearer?.[1];
}

/** Compared through fixed-length digests in constant time, so timing tells nothing about the token. */
function sameToken(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** A short, printable rendering of a header value for an error message. */
function shown(value: string): string {
  const short = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  return JSON.stringify(short);
}

/** Why an admin request must be refused, or undefined when it may proceed. */
export function adminRefusal(headers: IncomingHttpHeaders, guard: AdminGuard): AdminRefusal | undefined {
  const host = headers.host ?? '';
  if (!allowedHost(hostName(host), guard)) {
    return {
      status: 403,
      type: 'forbidden_host',
      message: `admin calls must name this proxy in Host (loopback, or a host allowed by configuration), not ${shown(host)}`,
    };
  }
  const origin = headers.origin;
  let crossSite = headers['sec-fetch-site'] === 'cross-site';
  if (origin !== undefined) {
    try {
      crossSite ||= !allowedHost(hostName(new URL(origin).host), guard);
    } catch {
      // "null" (a sandboxed or file page) or garbage: not this proxy's origin
      crossSite = true;
    }
  }
  if (crossSite) {
    return {
      status: 403,
      type: 'cross_origin',
      message: `admin calls are not accepted from another site (Origin ${shown(origin ?? '')})`,
    };
  }
  const token = presentedToken(headers);
  if (token === undefined || !sameToken(token, guard.token)) {
    return {
      status: 401,
      type: 'unauthorized',
      message: `admin calls need the proxy's admin token: Authorization: Bearer <token> or ${ADMIN_TOKEN_HEADER}`,
    };
  }
  return undefined;
}
