import { LocalContentStore } from "../../src/content/index.ts";
import { contentStoreSuite } from "./content-suite.ts";

contentStoreSuite("LocalContentStore", (root) => new LocalContentStore(root));
