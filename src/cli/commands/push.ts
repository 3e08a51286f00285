import { command, args } from "../command.ts";
import { normalizeName } from "../../engine/images.ts";
import { notFound } from "../../sys/errdefs.ts";

export default command({
  name: "push",
  usage: "[OPTIONS] NAME[:TAG]",
  summary: "Upload an image to a registry",
  flags: {
    quiet: { kind: "bool", short: "q", help: "suppress verbose output" },
    "tls-verify": { kind: "bool", help: "use HTTPS (default; =false allows plain HTTP to this registry; loopback always may)" },
  },
  async run(p, e) {
    const [ref] = args(p, this, 1);
    const name = normalizeName(ref!);
    try {
      e.images.get(name);
    } catch {
      throw notFound(`An image does not exist locally with the tag: ${ref}; tag one first (berth tag IMAGE ${ref})`, "image");
    }
    const { pushImage } = await import("../registry.ts");
    await pushImage(e, name, { quiet: p.flags.quiet === true, ...(p.flags["tls-verify"] === false ? { tlsVerify: false } : {}) });
    return 0;
  },
});
