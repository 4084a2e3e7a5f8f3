// Recurses without bound; `depth` tells how far it got.
export let depth = 0;
export const run = () => { class A { constructor(n){ depth = n; this.a = new B(n+1) } } class B extends A { constructor(n){ super(n) } } return new B(0) };
