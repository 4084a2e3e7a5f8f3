// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => (0, eval)("(".repeat(1000000) + "1" + ")".repeat(1000000));
