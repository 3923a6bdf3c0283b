import { startHarness } from "./test-harness";

jest.setTimeout(30_000);

it("a second instance shares the durable consumer and updates the settings it owns", async () => {
  const h = await startHarness();
  try {
    await h.start({ ack_wait_seconds: 30 });
    expect((await h.bus.jsm.consumers.info("MAIL", "outbound")).config).toMatchObject({ ack_wait: 30e9, max_ack_pending: 10000, max_deliver: -1 });
    await h.start({ ack_wait_seconds: 45, max_ack_pending: 500 });
    expect((await h.bus.jsm.consumers.info("MAIL", "outbound")).config).toMatchObject({ ack_wait: 45e9, max_ack_pending: 500 });
  } finally {
    await h.close();
  }
});
