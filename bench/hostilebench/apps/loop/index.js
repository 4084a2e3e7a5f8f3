// bench/hostile attacker: spins until the node stops it at its CPU limit.
export default {
  fetch() {
    let x = 0;
    for (;;) x = (x + 1) | 0;
  },
};
