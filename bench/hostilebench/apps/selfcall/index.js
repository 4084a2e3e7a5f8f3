// bench/hostile attacker: every request calls this same service twice, at
// once, through its own service binding: a binary tree of calls that only
// the node's depth and concurrency limits stop.
export default {
  async fetch(request, env) {
    const calls = [env.SELF.fetch('/again'), env.SELF.fetch('/again')];
    const answers = await Promise.allSettled(calls);
    const statuses = answers.map((a) => (a.status === 'fulfilled' ? a.value.status : 'error'));
    return new Response(statuses.join(' ') + '\n');
  },
};
