// bench/js: a CPU-bound handler, served unchanged by Mote and by workerd.
// Builds 200 objects, round-trips them through JSON, sorts them, runs a
// 100,000-iteration numeric loop, and answers a short deterministic digest.
export default {
  fetch() {
    const items = [];
    for (let i = 0; i < 200; i++) {
      items.push({ id: i, name: "item-" + i, score: (i * 7919) % 1009, tags: ["t" + (i % 7), "u" + (i % 3)] });
    }
    const copy = JSON.parse(JSON.stringify(items));
    copy.sort((a, b) => a.score - b.score || a.id - b.id);
    let h = 0;
    for (let i = 0; i < 100000; i++) {
      h = (Math.imul(h, 31) + i * 7 + (i >>> 3)) | 0;
    }
    let names = 0;
    for (const it of copy) names += it.name.length + it.tags.length;
    return new Response(`${copy[0].id} ${copy[199].id} ${names} ${(h >>> 0).toString(16)}\n`);
  },
};
