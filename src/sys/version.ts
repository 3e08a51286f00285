// berth's own version, shown by every front (the CLI, berthd's /version and /info).
export const BERTH_VERSION = "0.2.0";
