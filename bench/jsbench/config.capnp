# workerd configuration for bench/js: the two scripts Mote serves, unchanged,
# as ES-module workers. bench/js gives the listening addresses:
#   workerd serve config.capnp --socket-addr hello=127.0.0.1:P1 --socket-addr cpu=127.0.0.1:P2
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "hello", worker = .helloWorker),
    (name = "cpu", worker = .cpuWorker),
  ],
  sockets = [
    (name = "hello", address = "127.0.0.1:0", http = (), service = "hello"),
    (name = "cpu", address = "127.0.0.1:0", http = (), service = "cpu"),
  ],
);

const helloWorker :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2025-01-01",
);

const cpuWorker :Workerd.Worker = (
  modules = [ (name = "cpu.js", esModule = embed "cpu.js") ],
  compatibilityDate = "2025-01-01",
);
