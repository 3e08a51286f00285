// Where the engine's errors become gRPC statuses (and only here, for CRI): containerd's
// errdefs.ToGRPC codes — NotFound, AlreadyExists, InvalidArgument, FailedPrecondition — with the
// engine's message, which names the input. An engine Conflict (a state that forbids the request)
// is FailedPrecondition on CRI, as containerd answers; anything untyped is Internal.
import type { sendUnaryData, ServerUnaryCall, ServiceError } from "@grpc/grpc-js";
import { grpcStatus, isBerthError } from "../../sys/errdefs.ts";

const INTERNAL = 13;
const UNIMPLEMENTED = 12;

export function toServiceError(err: unknown): Partial<ServiceError> {
  if (isBerthError(err)) {
    const code = err.code === "Conflict" ? grpcStatus("FailedPrecondition") : grpcStatus(err.code);
    return { code, details: err.message, message: err.message };
  }
  const msg = `internal error: ${(err as Error)?.message ?? String(err)}`;
  return { code: INTERNAL, details: msg, message: msg };
}

/** A unary handler from an async function of the request; errors become statuses. */
export function unary<Req, Res>(f: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
    f(call.request, call).then((r) => cb(null, r), (err: unknown) => cb(toServiceError(err) as ServiceError));
  };
}

/** A method berth does not serve yet: UNIMPLEMENTED with what is missing. */
export function unimplemented(what: string) {
  return (_call: unknown, cb: sendUnaryData<never>): void => {
    const details = `${what} is not implemented by berth yet`;
    cb({ code: UNIMPLEMENTED, details, message: details } as ServiceError);
  };
}
