// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => new Function("return " + "[".repeat(1000000) + "]".repeat(1000000));
