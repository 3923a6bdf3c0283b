import { type Outcome } from "@postern/dns";
import { spfDnsFromResolver } from "./dns-adapter";

describe("spfDnsFromResolver", () => {
  it("routes each lookup to the resolver method of its type", async () => {
    const answer = <R>(records: R[]): Outcome<R> => ({ kind: "answer", records, authenticated: false, ttl: 1 });
    const dns = spfDnsFromResolver({
      txt: (n) => Promise.resolve(answer([[`txt ${n}`]])),
      a: (n) => Promise.resolve(answer([`a ${n}`])),
      aaaa: (n) => Promise.resolve(answer([`aaaa ${n}`])),
      mx: (n) => Promise.resolve(answer([{ preference: 5, exchange: `mx ${n}` }])),
      ptr: (n) => Promise.resolve(answer([`ptr ${n}`])),
    });
    expect(await dns.txt("x")).toEqual({ kind: "answer", records: [["txt x"]] });
    expect(await dns.a("x")).toEqual({ kind: "answer", records: ["a x"] });
    expect(await dns.aaaa("x")).toEqual({ kind: "answer", records: ["aaaa x"] });
    expect(await dns.mx("x")).toEqual({ kind: "answer", records: [{ preference: 5, exchange: "mx x" }] });
    expect(await dns.ptr("x")).toEqual({ kind: "answer", records: ["ptr x"] });
  });
});
