import { group, type Command } from "../command.ts";

/** `image inspect` looks at images only (`inspect --type image`). */
const imageInspect = async (): Promise<{ default: Command }> => {
  const inspect = (await import("./inspect.ts")).default;
  const { type: _type, ...flags } = inspect.flags;
  return {
    default: {
      ...inspect,
      usage: "[OPTIONS] IMAGE [IMAGE...]",
      summary: "Display detailed information on one or more images",
      flags,
      run(p, e) {
        return inspect.run.call(this, { ...p, flags: { ...p.flags, type: "image" } }, e);
      },
    },
  };
};

export default group("image", "Manage images", {
  ls: ["List images", () => import("./images.ts")],
  list: ["", () => import("./images.ts")],
  pull: ["Download an image from a registry", () => import("./pull.ts")],
  push: ["Upload an image to a registry", () => import("./push.ts")],
  rm: ["Remove one or more images", () => import("./rmi.ts")],
  remove: ["", () => import("./rmi.ts")],
  tag: ["Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", () => import("./tag.ts")],
  save: ["Save one or more images to a tar archive", () => import("./save.ts")],
  load: ["Load an image from a tar archive or STDIN", () => import("./load.ts")],
  import: ["Import images from an OCI layout directory or archive", () => import("./import.ts")],
  inspect: ["Display detailed information on one or more images", imageInspect],
  history: ["Show the history of an image", () => import("./history.ts")],
  prune: ["Remove unused images", () => import("./image-prune.ts")],
});
