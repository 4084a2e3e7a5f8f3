// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const runAsync = async () => { let p = Promise.resolve(); for (let i = 0; i < 100000; i++) p = p.then(() => { depth++ }); await p };
