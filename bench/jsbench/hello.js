// bench/js: the JavaScript hello world, served unchanged by Mote and by workerd.
export default { fetch() { return new Response("Hello from JavaScript!\n") } }
