// Errors into HTTP answers, in one place: a TallyError's code picks the status once, Fastify's
// own errors (body too large, bad content type, schema validation) get the same JSON shape, and
// anything else is logged and answered as a bare 500.
import type { FastifyError, FastifyInstance } from 'fastify';
import type { ApiError } from '../core/api/reply';
import { invalid, TallyError, toTallyError, type ErrorCode } from '../core/errors';
import { CLOUDEVENTS, CLOUDEVENTS_BATCH } from './events';
import { mayHoldForbiddenKey, refuseForbiddenKeys } from '../core/records';
import { isObject } from '../core/objects';
import { drainRefusedBody } from './timeouts';

export const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  queue_full: 429,
  locked: 503,
  unsupported: 400,
  unauthorized: 401,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

export type ErrorBody = { ok: false; error: ApiError };

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

export { isObject };

/** Why a body is not JSON, with the hint people need most: JSON has no NaN or Infinity. */
export function jsonError(text: string, err: unknown): TallyError {
  const reason = (err as Error).message.slice(0, 200);
  const hint = /(?:[:,[]\s*)[-+]?(?:NaN|Infinity)\b/.test(text) ? ' (JSON has no NaN or Infinity: quantities must be finite numbers)' : '';
  return invalid('body', `is not valid JSON: ${reason}${hint}`);
}

function fromFastifyError(err: FastifyError, bodyLimit: number): { status: number; body: ErrorBody } | null {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: errorBody(
          'invalid_input',
          `body: larger than the limit of ${bodyLimit} bytes (http.bodyLimitBytes); send smaller batches`,
          'body',
        ),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: errorBody('invalid_input', `content-type: must be application/json, ${CLOUDEVENTS} or ${CLOUDEVENTS_BATCH}`, 'content-type'),
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: errorBody('invalid_input', 'content-length: does not match the body', 'content-length') };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', 'body: is empty', 'body') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, body: errorBody('invalid_input', 'body: is not valid JSON', 'body') };
  }
  if (err.validation) {
    const first = err.validation[0];
    const field = first ? `${err.validationContext ?? 'body'}${first.instancePath.replace(/\//g, '.')}` : 'body';
    return { status: 400, body: errorBody('invalid_input', `${field}: ${first?.message ?? 'is invalid'}`, field) };
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, body: errorBody('invalid_input', err.message) };
  }
  return null;
}

/** Seconds for a Retry-After header: at least 1, rounded up. */
export function retryAfterSeconds(ms: number | undefined): string {
  return String(Math.max(1, Math.ceil((ms ?? 1000) / 1000)));
}

export function installErrorHandler(app: FastifyInstance, bodyLimit: number, log: (line: object) => void): void {
  app.setErrorHandler((error: FastifyError | TallyError, req, reply) => {
    if (!(error instanceof TallyError)) {
      const mapped = fromFastifyError(error, bodyLimit);
      if (mapped?.status === 413) return drainRefusedBody(req.raw).then(() => reply.code(413).send(mapped.body));
      if (mapped) return reply.code(mapped.status).send(mapped.body);
    }
    const e = toTallyError(error);
    const status = STATUS[e.code];
    if (e.code === 'internal') {
      log({
        level: 'error',
        msg: 'http request failed',
        method: req.method,
        route: req.routeOptions.url,
        error: e.message,
        stack: (e.cause as Error | undefined)?.stack,
      });
      return reply.code(500).send(errorBody('internal', 'internal error (details are in the agent log)'));
    }
    if (status === 429 || status === 503) reply.header('retry-after', retryAfterSeconds(e.retryAfterMs));
    return reply.code(status).send({ ok: false, error: e.toJSON() });
  });
}

/** JSON only: no text/plain or form bodies, the content types a cross-site form can send. */
export function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', CLOUDEVENTS, CLOUDEVENTS_BATCH], { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(null, undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return done(jsonError(text, err), undefined);
    }
    try {
      // Refused here, before any mapping could drop them silently (a walk only when the text hints).
      if (mayHoldForbiddenKey(text)) refuseForbiddenKeys(value, '');
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, value);
  });
}
