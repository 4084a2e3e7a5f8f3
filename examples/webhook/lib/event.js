exports.parseEvent = function parseEvent(text) {
  const event = JSON.parse(text);
  if (typeof event.type !== "string") throw new TypeError("event without a type");
  return event;
};
