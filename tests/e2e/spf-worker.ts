/**
 * A real spf service process for tests that kill one: the service as main.ts
 * runs it, with the in-memory zone from POSTERN_TEST_SPF_ZONE (JSON zone data)
 * instead of network DNS, each answer POSTERN_TEST_SPF_DNS_DELAY_MS late (so
 * checks are in flight when the process dies). Started by spf-support.ts
 * through bench/ts-register.cjs.
 */
import { runService } from "@postern/service-kit";
import { configSchema, createZoneDns, startSpf, type ZoneData } from "@postern/spf";

const zone = createZoneDns(JSON.parse(process.env.POSTERN_TEST_SPF_ZONE ?? "{}") as ZoneData);
const delayMs = Number(process.env.POSTERN_TEST_SPF_DNS_DELAY_MS ?? "0");
const later = <T>(answer: Promise<T>): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(answer), delayMs));
const dns = {
  txt: (name: string) => later(zone.txt(name)),
  a: (name: string) => later(zone.a(name)),
  aaaa: (name: string) => later(zone.aaaa(name)),
  mx: (name: string) => later(zone.mx(name)),
  ptr: (name: string) => later(zone.ptr(name)),
};
void runService({ name: "spf", schema: configSchema, start: (ctx) => startSpf(ctx, { dns }) });
