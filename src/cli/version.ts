export { BERTH_VERSION as VERSION } from "../sys/version.ts";
