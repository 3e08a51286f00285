// The Docker Engine API versions berthd speaks: it advertises API_VERSION on /_ping (the CLI
// 28.2 negotiates min(1.50, this)); its requests for 1.44–1.50 are byte-identical
// (../shared/docker-cli-calls.md §1), and every /vX.Y prefix is accepted.
export const API_VERSION = "1.50";
export const MIN_API_VERSION = "1.44";
