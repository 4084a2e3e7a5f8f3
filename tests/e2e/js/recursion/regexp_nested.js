// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => new RegExp("(".repeat(100000) + "a" + ")".repeat(100000)).test("a");
