import { SimRandom } from "../simulate.js";
import type { JsonValue } from "../types.js";
import type { BuiltinTool } from "./builtin-tool.js";

/** send_email: pretends to send an email and returns a message id. */
export const sendEmail: BuiltinTool = {
  name: "send_email",
  description: "Send an email to one recipient with a subject and a body.",
  parameters: {
    type: "object",
    properties: {
      to: { type: "string", format: "email", description: "Recipient address, e.g. alice@example.com" },
      subject: { type: "string", description: "Subject line" },
      body: { type: "string", description: "Message text" },
    },
    required: ["to", "subject", "body"],
    additionalProperties: false,
  },
  examples: [{ to: "alice@example.com", subject: "Lunch", body: "Are we still on for noon?" }],
  execute(args, { seed }): JsonValue {
    const rng = SimRandom.of("send_email", args, seed);
    return { status: "sent", message_id: `msg_${rng.hex(12)}`, to: String(args.to) };
  },
};
