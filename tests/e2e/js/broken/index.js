import { helper } from "./lib/syntax.js";
export default { fetch() { return new Response(helper()); } };
