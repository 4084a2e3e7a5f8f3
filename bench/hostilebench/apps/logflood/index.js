// bench/hostile attacker: writes 1 KiB lines to stdout and stderr until the
// node stops it at its CPU limit.
const LINE = 'x'.repeat(1023);
export default {
  fetch() {
    for (let i = 0; ; i++) {
      console.log(i, LINE);
      console.error(i, LINE);
    }
  },
};
