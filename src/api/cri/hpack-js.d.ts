// hpack.js ships no types; berth uses its decompressor only (authority-front.ts).
declare module "hpack.js" {
  const hpack: {
    decompressor: {
      create(o: { table: { size: number } }): {
        write(b: Buffer): void;
        execute(): void;
        read(): { name: string; value: string } | null;
        on(ev: "error", f: (e: Error) => void): void;
      };
    };
  };
  export default hpack;
}

// spdy-transport ships no types; streaming.ts declares the part it uses.
declare module "spdy-transport" {
  const transport: unknown;
  export default transport;
}
