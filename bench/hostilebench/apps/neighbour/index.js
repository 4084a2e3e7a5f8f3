// bench/hostile: the well-behaved neighbour whose latency is measured.
export default { fetch() { return new Response("Hello from JavaScript!\n") } }
