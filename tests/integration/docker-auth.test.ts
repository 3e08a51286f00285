// docker login / push / pull through berthd against a real docker-registry with token auth
// (the token server runs in this test, signing ES256 JWTs with a throwaway certificate the
// registry trusts): POST /auth checks the credentials, X-Registry-Auth carries them on push and
// pull, a wrong password is refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sign } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BERTH } from "./cli-helpers.ts";
import { Berthd, DOCKER } from "./berthd-harness.ts";
import { startRegistry, type RunningRegistry } from "./registry-harness.ts";

const ready = process.getuid?.() === 0 && existsSync(BERTH) && existsSync("/bin/busybox") && DOCKER !== "";
let d: Berthd;
let reg: RunningRegistry;
let tokens: ReturnType<typeof Bun.serve>;
const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

beforeAll(async () => {
  if (!ready) return;
  d = new Berthd("bt-auth-");
  const key = join(d.cli.dir, "key.pem");
  const cert = join(d.cli.dir, "cert.pem");
  const ossl = Bun.spawn(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=berth-test-token"], { stdout: "ignore", stderr: "pipe" });
  if ((await ossl.exited) !== 0) throw new Error(await new Response(ossl.stderr).text());
  const keyPem = readFileSync(key, "utf8");
  const certDer = Buffer.from(readFileSync(cert, "utf8").replace(/-----[^-]+-----|\s/g, ""), "base64");
  tokens = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const a = req.headers.get("authorization");
      if (!a?.startsWith("Basic ") || Buffer.from(a.slice(6), "base64").toString() !== "berth:s3cret") return new Response("bad credentials", { status: 401 });
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] };
      const access = url.searchParams.getAll("scope").map((s) => {
        const [type, name, actions] = s.split(":");
        return { type, name, actions: (actions ?? "").split(",") };
      });
      const claims = { iss: "berth-test-issuer", sub: "berth", aud: url.searchParams.get("service"), iat: now, nbf: now - 10, exp: now + 300, jti: crypto.randomUUID(), access };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      return Response.json({ token: `${input}.${b64url(sign("sha256", Buffer.from(input), { key: keyPem, dsaEncoding: "ieee-p1363" }))}`, expires_in: 300 });
    },
  });
  reg = await startRegistry(["auth:", "  token:", `    realm: http://127.0.0.1:${tokens.port}/token`, "    service: berth-test-registry", "    issuer: berth-test-issuer", `    rootcertbundle: ${cert}`].join("\n"));
  await d.start();
});

afterAll(async () => {
  if (!ready) return;
  await reg?.stop();
  tokens?.stop(true);
  const left = await d.cleanup();
  expect(left.mounts).toEqual([]);
  expect(left.cgroups).toEqual([]);
});

describe.if(ready)("docker login, push and pull with credentials through berthd", () => {
  test("a wrong password is refused; the right one logs in, pushes and pulls a private image", async () => {
    const bad = await d.docker(["login", "-u", "berth", "--password-stdin", reg.host], { stdin: "wrong\n" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("login to");
    const ok = await d.docker(["login", "-u", "berth", "--password-stdin", reg.host], { stdin: "s3cret\n" });
    expect(ok.stdout).toContain("Login Succeeded");
    const ref = `${reg.host}/private/bb:1`;
    await d.dockerOk(["pull", "busybox"]);
    await d.dockerOk(["tag", "busybox", ref]);
    expect(await d.dockerOk(["push", ref])).toMatch(/1: digest: sha256:/);
    await d.dockerOk(["rmi", ref]);
    expect(await d.dockerOk(["pull", ref])).toContain(`Downloaded newer image for ${ref}`);
    await d.dockerOk(["rmi", ref]);
    await d.dockerOk(["logout", reg.host]);
    const anon = await d.docker(["pull", ref]);
    expect(anon.code).toBe(1);
  });
});
