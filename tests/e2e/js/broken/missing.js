import { nothing } from "./lib/not-there.js";
export default { fetch() { return new Response(nothing); } };
