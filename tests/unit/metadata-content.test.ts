import { join } from "node:path";
import { LocalContentStore } from "../../src/content/index.ts";
import { MetadataDB, NamespacedContentStore } from "../../src/metadata/index.ts";
import { contentStoreSuite } from "./content-suite.ts";

// The namespaced view over the shared store passes the same suite as the shared store itself.
contentStoreSuite("NamespacedContentStore", (root) => {
  const meta = new MetadataDB(join(root, "meta.db"));
  return new NamespacedContentStore(meta, new LocalContentStore(root), "default");
});
