import { z } from "zod";
import { httpConfigSchema, logConfigSchema } from "@postern/service-kit";
import { natsConfigSchema } from "@postern/bus";

export const configSchema = z.object({
  log: logConfigSchema.prefault({}),
  nats: natsConfigSchema.prefault({}),
  ocsp_refresher: z.strictObject({ http: httpConfigSchema.prefault({}) }).prefault({}),
});

export type OcspRefresherConfig = z.infer<typeof configSchema>;
