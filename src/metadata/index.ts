export { MetadataDB, validateNamespace } from "./db.ts";
export { ImageStore, type Image } from "./images.ts";
export { LeaseManager, LABEL_GC_EXPIRE, type Lease, type LeaseResource } from "./leases.ts";
export { NamespacedContentStore, type NamespacedContentOptions } from "./content.ts";
export { collectGarbage, childrenOf, MEDIA_TYPES, LABEL_GC_ROOT, LABEL_GC_REF_CONTENT_PREFIX, type GCResult } from "./gc.ts";
export { ContainerStore, type ContainerRecord, type ContainerState } from "./containers.ts";
