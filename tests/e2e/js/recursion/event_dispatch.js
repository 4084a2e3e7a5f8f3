// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { const t = new EventTarget(); t.addEventListener("x", () => { depth++; t.dispatchEvent(new Event("x")) }); t.dispatchEvent(new Event("x")); return depth };
