import { group } from "../command.ts";

const sub = (name: "contentLs" | "contentGet" | "contentRm") => () => import("./plumbing.ts").then((m) => ({ default: m[name] }));
export default group("content", "Manage the content store (blobs by digest), as ctr content", {
  ls: ["List blobs", sub("contentLs")],
  list: ["", sub("contentLs")],
  get: ["Write a blob to standard output", sub("contentGet")],
  rm: ["Remove blobs", sub("contentRm")],
  delete: ["", sub("contentRm")],
});
