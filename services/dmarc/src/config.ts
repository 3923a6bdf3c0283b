import { z } from "zod";
import { httpConfigSchema, logConfigSchema } from "@postern/service-kit";
import { natsConfigSchema } from "@postern/bus";

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  dmarc: z.strictObject({ http: httpConfigSchema.prefault({}) }).prefault({}),
});

export type DmarcConfig = z.infer<typeof configSchema>;
