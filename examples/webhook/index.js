const { verify } = require("tiny-signature");
const { parseEvent } = require("./lib/event");

module.exports = {
  async fetch(request, env) {
    if (request.method !== "POST") {
      return Response.json({ ok: false, error: "POST a JSON event" }, { status: 405 });
    }
    const body = await request.text();
    const header = request.headers.get("x-signature") || "";
    if (!verify(env.WEBHOOK_SECRET, body, header)) {
      return Response.json({ ok: false, error: "bad signature" }, { status: 401 });
    }
    const event = parseEvent(body);
    return Response.json({ ok: true, type: event.type, id: event.id });
  },
};
