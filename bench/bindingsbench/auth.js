// The callee of bench/bindings: checks a bearer token.
export default {
  fetch(request) {
    const ok = request.headers.get('authorization') === 'Bearer bench-token';
    return new Response(ok ? 'authorized\n' : 'denied\n', { status: ok ? 200 : 401 });
  },
};
