// Why: the small pieces the simulated HTTP servers share: start on 127.0.0.1 port 0, read a body, answer JSON,
// answer a held request from the simulated work (or its injected fault).
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriverError } from '../../drivers/errors.ts';
import type { RequestHolds } from './request-holds.ts';

export interface ServedApi {
  /** The base URL (`http://127.0.0.1:<port>`). */
  baseUrl: string;
  port: number;
  close(): Promise<void>;
}

export async function listenLocal(handler: RequestListener): Promise<{ server: Server; port: number; baseUrl: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { server, port, baseUrl: `http://127.0.0.1:${port}` };
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
}

/** Reads the request body (bounded to 1 MiB). */
export async function readBody(req: IncomingMessage, limitBytes = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw new Error(`request body over ${limitBytes} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Serves a JSON API on 127.0.0.1; a handler that throws answers 500 naming the simulator's error (if nothing was sent yet). */
export function listenJsonApi(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<{ server: Server; port: number; baseUrl: string }> {
  return listenLocal((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: `simulator error: ${e instanceof Error ? e.message : String(e)}`, code: 'internal' });
    });
  });
}

/** A request body parsed as JSON (`body` undefined when empty); undefined once it has answered 400 because it is not JSON. */
export function jsonBodyOr400(res: ServerResponse, raw: string): { body: unknown } | undefined {
  if (!raw) return { body: undefined };
  try {
    return { body: JSON.parse(raw) };
  } catch {
    sendJson(res, 400, { error: 'body: not JSON', code: 'invalid_request' });
    return undefined;
  }
}

/**
 * Answers with what the simulated work returns. Virtual time runs while it is scheduled (the request's hold is
 * paused) and is held again once the answer is ready; an injected fault answers in the backend's wire form.
 */
export async function answerSimulated(
  res: ServerResponse,
  holds: RequestHolds,
  holdId: string | undefined,
  work: Promise<{ status: number; body: unknown }>,
  fault: (e: DriverError) => { status: number; body: unknown },
): Promise<void> {
  holds.pause(holdId);
  try {
    const out = await work;
    holds.resume(holdId);
    sendJson(res, out.status, out.body);
  } catch (e) {
    holds.resume(holdId);
    if (e instanceof DriverError) {
      const f = fault(e);
      return sendJson(res, f.status, f.body);
    }
    throw e;
  }
}
