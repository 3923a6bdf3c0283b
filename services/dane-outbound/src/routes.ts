/**
 * Static routes: recipient domain -> where to deliver. Pure.
 * `maildir:<dir>`, `smtp:<host>:<port>`, `lmtp:<host>:<port>`, `mx` (MX lookup of the
 * recipient domain, port `smtp_port`); key "*" is the default.
 */
export const RouteKind = { Maildir: "maildir", Smtp: "smtp", Lmtp: "lmtp", Mx: "mx" } as const;
export type RouteKind = (typeof RouteKind)[keyof typeof RouteKind];

export type Route =
  | { kind: typeof RouteKind.Maildir; dir: string; spec: string }
  | { kind: typeof RouteKind.Mx; spec: string }
  | { kind: typeof RouteKind.Smtp | typeof RouteKind.Lmtp; host: string; port: number; spec: string };

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/;

/** Parses a route string; returns an error message instead of throwing (used by the config schema). */
export function parseRoute(spec: string): Route | { error: string } {
  const colon = spec.indexOf(":");
  const scheme = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  switch (scheme) {
    case "maildir":
      if (rest.length === 0 || rest.includes("\0")) return { error: "expected maildir:<directory>" };
      return { kind: RouteKind.Maildir, dir: rest, spec };
    case "smtp":
    case "lmtp": {
      const m = HOST_PORT.exec(rest);
      const port = Number(m?.[3]);
      if (!m || port < 1 || port > 65535) return { error: `expected ${scheme}:<host>:<port> (IPv6 as [addr]:port)` };
      return { kind: scheme, host: m[1] ?? m[2] ?? "", port, spec };
    }
    case "mx":
      if (rest.length > 0) return { error: "expected mx (no argument; the port is smtp_port)" };
      return { kind: RouteKind.Mx, spec };
    default:
      return { error: "expected mx, maildir:<dir>, smtp:<host>:<port> or lmtp:<host>:<port>" };
  }
}

/** The route for a (lower-case) domain: exact match, else "*"; with the router name for events and logs. */
export function pickRoute(routes: ReadonlyMap<string, Route>, domain: string): { name: string; route: Route } | undefined {
  const exact = routes.get(domain);
  if (exact) return { name: `route:${domain}`, route: exact };
  const fallback = routes.get("*");
  return fallback ? { name: "route:*", route: fallback } : undefined;
}
