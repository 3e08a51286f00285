// The CRI v1 service definitions, loaded from the descriptor scripts/gen-cri.sh made from
// k8s.io/cri-api's api.proto (generated/api.json): JSON, so nothing parses .proto text at run
// time and the compiled executable carries it as data. Loaded on first use only (berthd with
// --cri-socket): the berth CLI never pays for it.
import type { GrpcObject, ServiceClientConstructor } from "@grpc/grpc-js";
import type { ProtoGrpcType } from "./generated/api.ts";

/** Must match the flags scripts/gen-cri.sh gives proto-loader-gen-types (the __Output types). */
export const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

let loaded: ProtoGrpcType | undefined;

export async function criProto(): Promise<ProtoGrpcType> {
  if (loaded) return loaded;
  const [grpc, loader, json] = await Promise.all([
    import("@grpc/grpc-js"), import("@grpc/proto-loader"), import("./generated/api.json", { with: { type: "json" } }),
  ]);
  const def = loader.fromJSON(json.default as Parameters<typeof loader.fromJSON>[0], LOAD_OPTIONS);
  loaded = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  return loaded;
}

export type { GrpcObject, ServiceClientConstructor };
