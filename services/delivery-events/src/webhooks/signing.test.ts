import { parseSecret, sign, signedHeaders, verify } from "./signing";

// The published Standard Webhooks test vector.
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP = 1614265330;
const BODY = '{"test": 2432232314}';
const SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

describe("Standard Webhooks signing", () => {
  it("reproduces the published test vector", () => {
    const key = parseSecret(SECRET);
    expect(key).toBeDefined();
    expect(sign(key as Buffer, ID, TIMESTAMP, BODY)).toBe(SIGNATURE);
  });

  it.each([
    ["with the whsec_ prefix", SECRET, 24],
    ["without the prefix", SECRET.slice(6), 24],
    ["16 bytes", `whsec_${Buffer.alloc(16, 1).toString("base64")}`, 16],
    ["64 bytes", `whsec_${Buffer.alloc(64, 1).toString("base64")}`, 64],
    ["15 bytes", `whsec_${Buffer.alloc(15, 1).toString("base64")}`, undefined],
    ["65 bytes", `whsec_${Buffer.alloc(65, 1).toString("base64")}`, undefined],
    ["not base64", "whsec_not base64!", undefined],
    ["bad padding", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", undefined],
    ["empty", "whsec_", undefined],
  ])("parseSecret %s", (_label, secret, wantBytes) => {
    expect(parseSecret(secret)?.length).toBe(wantBytes);
  });

  const key = parseSecret(SECRET) as Buffer;
  const headers = signedHeaders(key, ID, TIMESTAMP, BODY);
  it.each([
    ["the signed request", headers, BODY, TIMESTAMP, true],
    ["within the tolerance", headers, BODY, TIMESTAMP + 300, true],
    ["too old", headers, BODY, TIMESTAMP + 301, false],
    ["from the future", headers, BODY, TIMESTAMP - 301, false],
    ["another body", headers, `${BODY} `, TIMESTAMP, false],
    ["another id", { ...headers, "webhook-id": "msg_x" }, BODY, TIMESTAMP, false],
    ["one of several signatures", { ...headers, "webhook-signature": `v1,bm9wZQ== ${SIGNATURE}` }, BODY, TIMESTAMP, true],
    ["a bad timestamp", { ...headers, "webhook-timestamp": "soon" }, BODY, TIMESTAMP, false],
  ])("verify: %s", (_label, h, body, now, want) => {
    expect(verify(key, h, body, now)).toBe(want);
  });
});
