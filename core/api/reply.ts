import type { IncomingHttpHeaders } from 'node:http';

/**
 * The request and answer of the API modules. Each endpoint is a function from an ApiRequest to an
 * ApiReply, with no socket in sight: the router does the HTTP, the endpoints can be tested and
 * reasoned about as plain functions.
 */

export interface ApiRequest {
  method: string;
  /** path and query as seen below the API's mount point */
  url: URL;
  headers: IncomingHttpHeaders;
}

export interface ApiReply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

export function textReply(status: number, text: string, headers: Record<string, string> = {}): ApiReply {
  return { status, headers: { 'Content-Type': TEXT, ...headers }, body: text };
}

/**
 * A JSON body, or `fn(<json>);` when the client asked for JSONP. The FLM answers JSONP with
 * Content-Type application/json too (docs/protocols/tmpo.md#local-api), and so do we.
 */
export function jsonReply(json: string, callback: string | undefined, headers: Record<string, string> = {}): ApiReply {
  return {
    status: 200,
    headers: { 'Content-Type': JSON_TYPE, ...headers },
    body: callback ? `${callback}(${json});` : json,
  };
}

/**
 * JSONP callback names are pasted into a script, so only dotted JavaScript identifiers are taken
 * (jQuery's generated `jQuery17_123` included); the FLM did not check, which let any page inject
 * script through the name.
 */
const CALLBACK = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;
export const isCallbackName = (name: string): boolean => name.length <= 128 && CALLBACK.test(name);

/** A header's value as one string (node gives arrays for repeated unknown headers). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
