// One error vocabulary for every layer (containerd's errdefs, undici's stable codes).
// Library code throws these; the edges (CLI exit codes, HTTP statuses, gRPC codes) map them.

export type ErrorCode =
  | "NotFound"
  | "AlreadyExists"
  | "InvalidArgument"
  | "FailedPrecondition"
  | "Unavailable"
  | "NotImplemented"
  | "PermissionDenied"
  | "Conflict"
  | "Canceled"
  | "DeadlineExceeded"
  | "ResourceExhausted"
  | "Unauthenticated"
  | "Internal";

export class BerthError extends Error {
  readonly code: ErrorCode;
  /** The input that caused the error: a config.json field ("process.args"), a path, a flag. */
  readonly field?: string;
  constructor(code: ErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = `Berth${code}Error`;
    this.code = code;
    if (field !== undefined) this.field = field;
  }
}

export const notFound = (msg: string, field?: string) => new BerthError("NotFound", msg, field);
export const alreadyExists = (msg: string, field?: string) => new BerthError("AlreadyExists", msg, field);
export const invalidArgument = (msg: string, field?: string) => new BerthError("InvalidArgument", msg, field);
export const failedPrecondition = (msg: string, field?: string) => new BerthError("FailedPrecondition", msg, field);
export const notImplemented = (msg: string, field?: string) => new BerthError("NotImplemented", msg, field);
export const unavailable = (msg: string, field?: string) => new BerthError("Unavailable", msg, field);
export const permissionDenied = (msg: string, field?: string) => new BerthError("PermissionDenied", msg, field);
/** The object is in a state that forbids the request (running container removed without force…). */
export const conflict = (msg: string, field?: string) => new BerthError("Conflict", msg, field);
export const canceled = (msg: string, field?: string) => new BerthError("Canceled", msg, field);
export const internal = (msg: string, field?: string, cause?: unknown) =>
  new BerthError("Internal", msg, field, { cause });

export function isBerthError(e: unknown, code?: ErrorCode): e is BerthError {
  return e instanceof BerthError && (code === undefined || e.code === code);
}

/** HTTP status for an error code (Docker Engine API, registry edges). */
export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case "NotFound": return 404;
    case "AlreadyExists": return 409;
    case "InvalidArgument": return 400;
    case "FailedPrecondition": return 409;
    case "Unavailable": return 503;
    case "NotImplemented": return 501;
    case "PermissionDenied": return 403;
    case "Conflict": return 409;
    case "Canceled": return 499;
    case "DeadlineExceeded": return 504;
    case "ResourceExhausted": return 429;
    case "Unauthenticated": return 401;
    default: return 500;
  }
}

/** gRPC status code for an error code (CRI, containerd-style APIs). */
export function grpcStatus(code: ErrorCode): number {
  switch (code) {
    case "NotFound": return 5;
    case "AlreadyExists": return 6;
    case "InvalidArgument": return 3;
    case "FailedPrecondition": return 9;
    case "Unavailable": return 14;
    case "NotImplemented": return 12;
    case "PermissionDenied": return 7;
    case "Conflict": return 10;
    case "Canceled": return 1;
    case "DeadlineExceeded": return 4;
    case "ResourceExhausted": return 8;
    case "Unauthenticated": return 16;
    default: return 13;
  }
}
