// bench/hostile attacker: tries to answer 1 GiB. JavaScript bodies are built
// whole in the sandbox's memory, so when a 1 GiB response cannot be made it
// halves the size until one can, and answers with that.
export default {
  fetch() {
    for (let size = 1 << 30; size >= 1 << 20; size >>= 1) {
      try {
        return new Response(new Uint8Array(size).fill(120));
      } catch {
        // out of memory: try half as much
      }
    }
    return new Response('no memory at all\n', { status: 507 });
  },
};
