// bench/hostile attacker: answers after 2 s of waiting (no CPU).
export default {
  async fetch() {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return new Response('slept\n');
  },
};
