// bench/hostile attacker: recursion without end. /hostile/recursion recurses
// in JavaScript; /hostile/recursion/json makes JSON.parse (C code in the
// engine) recurse through a million nested arrays. Neither catches the error.
const DEPTH = 1_000_000;
function down(n) {
  return down(n + 1) + 1;
}
export default {
  fetch(request) {
    if (new URL(request.url).pathname.endsWith('/json')) {
      return new Response(String(JSON.parse('['.repeat(DEPTH) + ']'.repeat(DEPTH)).length));
    }
    return new Response(String(down(0)));
  },
};
