// Generated container names, docker-style "adjective_noun" (berth's own word lists).
const ADJECTIVES = [
  "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast", "gentle", "glad", "grand",
  "happy", "keen", "kind", "lively", "lucid", "merry", "mellow", "neat", "nimble", "proud", "quick", "quiet", "rapid",
  "sharp", "silent", "sleek", "smooth", "snug", "steady", "stoic", "swift", "tidy", "vivid", "warm", "wise", "witty", "zesty",
];
const NOUNS = [
  "anchor", "bay", "beacon", "buoy", "cabin", "cargo", "channel", "compass", "cove", "crane", "deck", "dock", "ferry",
  "fjord", "galley", "harbor", "hull", "inlet", "jetty", "keel", "lagoon", "lantern", "mast", "mooring", "oar", "pier",
  "port", "quay", "reef", "rudder", "sail", "schooner", "skiff", "slip", "tide", "tugboat", "wharf", "yard",
];

export function generateName(taken: (name: string) => boolean): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  for (let i = 0; i < 50; i++) {
    const n = `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
    if (!taken(n)) return n;
  }
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}_${Math.floor(Math.random() * 1e6)}`;
}
