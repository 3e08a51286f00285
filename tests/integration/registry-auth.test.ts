// Token auth against a real docker-registry: the registry is configured with `auth: token`, and
// this test runs the token server (docker's token protocol) on loopback, signing ES256 JWTs with
// a throwaway certificate that the registry trusts (rootcertbundle).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign } from "node:crypto";
import { mkdtemp, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type Server } from "bun";
import { LocalContentStore } from "../../src/content/index.ts";
import { RegistryClient, credentialsFromConfig, pull, push } from "../../src/distribution/index.ts";
import { BerthError } from "../../src/sys/errdefs.ts";
import { buildBusyboxImage, startRegistry, type RunningRegistry, type TestImage } from "./registry-harness.ts";

let work: string;
let reg: RunningRegistry;
let tokenServer: Server<undefined>;
let src: LocalContentStore;
let img: TestImage;
const tokenRequests: { scopes: string[]; user: string | undefined }[] = [];

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-auth-"));
  const key = join(work, "key.pem");
  const cert = join(work, "cert.pem");
  const ossl = spawn(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=berth-test-token"],
    { stdout: "ignore", stderr: "pipe" },
  );
  if ((await ossl.exited) !== 0) throw new Error(await new Response(ossl.stderr).text());
  const keyPem = await readFile(key, "utf8");
  const certDer = Buffer.from((await readFile(cert, "utf8")).replace(/-----[^-]+-----|\s/g, ""), "base64");

  tokenServer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const auth = req.headers.get("authorization");
      const user = auth?.startsWith("Basic ") ? Buffer.from(auth.slice(6), "base64").toString() : undefined;
      const scopes = url.searchParams.getAll("scope");
      tokenRequests.push({ scopes, user });
      if (user !== "berth:s3cret") return new Response("bad credentials", { status: 401 });
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] };
      const claims = {
        iss: "berth-test-issuer",
        sub: "berth",
        aud: url.searchParams.get("service"),
        iat: now,
        nbf: now - 10,
        exp: now + 300,
        jti: crypto.randomUUID(),
        access: scopes.map((s) => {
          const [type, name, actions] = s.split(":");
          return { type, name, actions: (actions ?? "").split(",") };
        }),
      };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const sig = sign("sha256", Buffer.from(input), { key: keyPem, dsaEncoding: "ieee-p1363" });
      return Response.json({ token: `${input}.${b64url(sig)}`, expires_in: 300 });
    },
  });

  reg = await startRegistry(
    [
      "auth:",
      "  token:",
      `    realm: http://127.0.0.1:${tokenServer.port}/token`,
      "    service: berth-test-registry",
      "    issuer: berth-test-issuer",
      `    rootcertbundle: ${cert}`,
    ].join("\n"),
  );
  src = new LocalContentStore(join(work, "src"));
  img = await buildBusyboxImage(src);
});

afterAll(async () => {
  await reg?.stop();
  tokenServer?.stop(true);
  if (work) await rm(work, { recursive: true, force: true });
});

const withCreds = (password: string) =>
  new RegistryClient({
    credentials: credentialsFromConfig({
      auths: { [`http://${reg.host}`]: { auth: Buffer.from(`berth:${password}`).toString("base64") } },
    }),
  });

describe("bearer token auth", () => {
  test("push and pull with credentials from a docker config.json", async () => {
    const client = withCreds("s3cret");
    tokenRequests.length = 0;
    await push(`${reg.host}/private/busybox:v1`, { client, store: src, target: img.manifest });
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests.every((r) => r.user === "berth:s3cret")).toBe(true);
    expect(tokenRequests.some((r) => r.scopes.includes("repository:private/busybox:pull,push"))).toBe(true);
    // Tokens are cached per scope: far fewer token requests than registry requests.
    expect(tokenRequests.length).toBeLessThanOrEqual(3);

    const dst = new LocalContentStore(join(work, "dst"));
    const res = await pull(`${reg.host}/private/busybox:v1`, { client, store: dst });
    expect(res.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
    expect(tokenRequests.some((r) => r.scopes.includes("repository:private/busybox:pull"))).toBe(true);
  });

  test("cross-repository mount asks for pull on the source repository", async () => {
    const client = withCreds("s3cret");
    tokenRequests.length = 0;
    const res = await push(`${reg.host}/private/mounted:v1`, { client, store: src, target: img.manifest, mountFrom: ["private/busybox"] });
    expect(res.mounted.length).toBe(3);
    expect(tokenRequests.some((r) => r.scopes.includes("repository:private/busybox:pull"))).toBe(true);
  });

  test("wrong or missing credentials are PermissionDenied with a hint", async () => {
    for (const client of [withCreds("wrong"), new RegistryClient()]) {
      let err: unknown;
      try {
        await pull(`${reg.host}/private/busybox:v1`, { client, store: new LocalContentStore(join(work, "never")) });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BerthError);
      expect((err as BerthError).code).toBe("PermissionDenied");
      expect((err as BerthError).message).toContain(`127.0.0.1:${tokenServer.port}`);
    }
  });
});
