import { z } from "zod";
import { grpcServerConfigSchema, httpConfigSchema, logConfigSchema } from "@postern/service-kit";
import { natsConfigSchema } from "@postern/bus";

export const deliveryEventsSectionSchema = z.strictObject({
  http: httpConfigSchema.prefault({}),
  grpc: grpcServerConfigSchema.prefault({ listen: "127.0.0.1:50054" }),
  /** Upper bound on concurrent Events.Subscribe streams, so a misbehaving client cannot exhaust the server. */
  max_subscribers: z.number().int().positive().default(256),
});

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  delivery_events: deliveryEventsSectionSchema.prefault({}),
});

export type DeliveryEventsConfig = z.infer<typeof configSchema>;
