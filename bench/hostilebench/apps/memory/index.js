// bench/hostile attacker: allocates and touches 16 MiB blocks, keeping them
// all, until the node refuses memory.
export default {
  fetch() {
    const hoard = [];
    for (;;) hoard.push(new Uint8Array(16 << 20).fill(hoard.length & 0xff));
  },
};
