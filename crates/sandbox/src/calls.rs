//! Deploy-time work on a component other than serving a request: calling
//! one of its world-level exports, and snapshotting it after an
//! initialisation function ran (`wasmtime-wizer`). The JavaScript tier uses
//! both: its engine is snapshotted once per node, and its `compile` export
//! turns a service's sources into bytecode at deploy time.

use wasmtime::component::{Component, ComponentNamedList, Instance, Lift, Lower, WasmList};
use wasmtime::{Store, format_err};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

use crate::engine::Sandbox;
use crate::exec::{Invocation, failure, new_store};
use crate::host::Host;
use crate::offload::Metered;
use crate::{LoadError, SandboxError};

impl Sandbox {
    /// Call the world-level export `name` of `component` in a fresh
    /// instance, within the limits of `inv` (what the guest prints is
    /// dropped). The instance is discarded afterwards.
    pub async fn call_export<P, R>(
        &self,
        component: &Component,
        name: &str,
        params: P,
        inv: Invocation,
    ) -> Result<R, SandboxError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let limits = inv.limits;
        let mut store = new_store(&self.engine, &inv, self.tick);
        let turn = store.data().turn.clone();
        let run = async {
            let instance = self
                .linker
                .instantiate_async(&mut store, component)
                .await
                .map_err(|e| (e, true))?;
            let func = instance
                .get_typed_func::<P, R>(&mut store, name)
                .map_err(|e| (e, true))?;
            func.call_async(&mut store, params)
                .await
                .map_err(|e| (e, false))
        };
        match tokio::time::timeout(limits.timeout, Metered::new(run, turn)).await {
            Err(_elapsed) => Err(SandboxError::Timeout(limits.timeout)),
            Ok(Ok(results)) => Ok(results),
            Ok(Err((e, instantiating))) => Err(failure(store.data(), &limits, &e, instantiating)),
        }
    }

    /// Instantiate `wasm`, run its `init` export (a `func()`), and return a
    /// new component whose memories and globals start as that instance left
    /// them. `init` stays exported (Wizer cannot drop a component-level
    /// export), so it must be idempotent. It must leave no WASI resource open
    /// (the snapshot cannot hold one) and runs within `inv`'s limits.
    pub async fn snapshot(
        &self,
        wasm: &[u8],
        init: &str,
        inv: Invocation,
    ) -> Result<Vec<u8>, LoadError> {
        let limits = inv.limits;
        let wizer = {
            let mut w = Wizer::new();
            w.init_func(init).keep_init_func(true);
            w
        };
        let invalid = |e: wasmtime::Error| LoadError::Invalid(format!("{e:#}"));
        let (cx, instrumented) = wizer.instrument_component(wasm).map_err(invalid)?;
        let component = Component::new(&self.engine, &instrumented).map_err(invalid)?;
        let mut store = new_store(&self.engine, &inv, self.tick);
        let turn = store.data().turn.clone();
        let run = async {
            let instance = self
                .linker
                .instantiate_async(&mut store, &component)
                .await?;
            let func = instance.get_typed_func::<(), ()>(&mut store, init)?;
            func.call_async(&mut store, ()).await?;
            Ok::<_, wasmtime::Error>(instance)
        };
        let instance = match tokio::time::timeout(limits.timeout, Metered::new(run, turn)).await {
            Err(_elapsed) => {
                return Err(LoadError::Invalid(format!(
                    "`{init}` did not finish within {:?}",
                    limits.timeout
                )));
            }
            Ok(Err(e)) => {
                let why = failure(store.data(), &limits, &e, false);
                return Err(LoadError::Invalid(format!("`{init}` failed: {why}")));
            }
            Ok(Ok(instance)) => instance,
        };
        let mut state = State {
            store: &mut store,
            instance,
        };
        wizer
            .snapshot_component(&cx, &mut state)
            .await
            .map_err(invalid)
    }
}

/// Lets Wizer read the initialised instance's state through the accessor
/// exports its instrumentation added. (Wizer's own adapter needs Wasmtime
/// features the node does not otherwise build: threads, GC, the cache.)
struct State<'a> {
    store: &'a mut Store<Host>,
    instance: Instance,
}

impl State<'_> {
    async fn call<R: Lift + Send + Sync + 'static, O>(
        &mut self,
        instance: &str,
        func: &str,
        read: impl FnOnce(&Store<Host>, R) -> O,
    ) -> O {
        let result = async {
            let (_, parent) = self
                .instance
                .get_export(&mut *self.store, None, instance)
                .ok_or_else(|| format_err!("no export {instance}"))?;
            let (_, index) = self
                .instance
                .get_export(&mut *self.store, Some(&parent), func)
                .ok_or_else(|| format_err!("no export {instance}#{func}"))?;
            let f = self
                .instance
                .get_typed_func::<(), (R,)>(&mut *self.store, index)?;
            let (r,) = f.call_async(&mut *self.store, ()).await?;
            Ok::<_, wasmtime::Error>(r)
        }
        .await;
        // The accessors are generated by Wizer's own instrumentation: a
        // failure here is a bug in it, not something a guest can cause.
        let r = result.unwrap_or_else(|e| panic!("snapshot accessor {instance}#{func}: {e:#}"));
        read(self.store, r)
    }
}

impl ComponentInstanceState for State<'_> {
    async fn call_func_ret_list_u8(
        &mut self,
        instance: &str,
        func: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) {
        self.call(instance, func, |store, list: WasmList<u8>| {
            contents(list.as_le_slice(store))
        })
        .await
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, r| r).await
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, r| r).await
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, r: f32| r.to_bits()).await
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, r: f64| r.to_bits()).await
    }
}
