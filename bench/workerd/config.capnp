# workerd configuration for bench/run: one ES-module worker (hello.js).
# The listening address is given on the command line by bench/run:
#   workerd serve config.capnp --socket-addr http=127.0.0.1:PORT
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "hello", worker = .helloWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "hello") ],
);

const helloWorker :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2025-01-01",
);
