// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => /^(?:a|b)*c/.test("ab".repeat(100000));
