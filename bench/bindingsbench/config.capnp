# workerd configuration for bench/bindings: the same gateway and auth scripts
# Mote runs, the gateway calling auth through a service binding. bench/bindings
# gives the listening addresses:
#   workerd serve config.capnp --socket-addr gateway=127.0.0.1:P1 --socket-addr auth=127.0.0.1:P2
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "gateway", worker = .gatewayWorker),
    (name = "auth", worker = .authWorker),
  ],
  sockets = [
    (name = "gateway", address = "127.0.0.1:0", http = (), service = "gateway"),
    (name = "auth", address = "127.0.0.1:0", http = (), service = "auth"),
  ],
);

const gatewayWorker :Workerd.Worker = (
  modules = [ (name = "gateway.js", esModule = embed "gateway.js") ],
  bindings = [ (name = "AUTH", service = "auth") ],
  compatibilityDate = "2025-01-01",
);

const authWorker :Workerd.Worker = (
  modules = [ (name = "auth.js", esModule = embed "auth.js") ],
  compatibilityDate = "2025-01-01",
);
