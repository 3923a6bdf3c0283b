import { ReportLimiter } from "./reports";

test("failure reports are limited per domain and window", () => {
  let now = 0;
  const limiter = new ReportLimiter(2, 1_000, () => now);
  expect([limiter.take("a.test"), limiter.take("a.test"), limiter.take("a.test"), limiter.take("b.test")]).toEqual([true, true, false, true]);
  now = 1_000;
  expect(limiter.take("a.test")).toBe(true);
});
