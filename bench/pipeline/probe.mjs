// A latency probe for the pipeline benchmark: while smtp-source loads a target, one more
// client sends messages one after another, each on a new connection as smtp-source does,
// and times every message from connect to the reply to its final dot. It also keeps the two
// waits an MTA spends on checks and storage: RCPT (Postern: the SPF verdict) and the final
// dot (Postern: DMARC and the durable enqueue, PubAck before 250).
import { connect } from "node:net";

function session(port, body) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect({ host: "127.0.0.1", port });
    socket.setNoDelay(true);
    let buffer = "";
    let step = 0;
    let sentAt = 0;
    const waits = { rcpt: 0, dot: 0 };
    const script = [
      () => "HELO probe.bench.test\r\n",
      () => "MAIL FROM:<sender@bench.test>\r\n",
      () => "RCPT TO:<rcpt@bench.test>\r\n",
      () => "DATA\r\n",
      () => body,
      () => "QUIT\r\n",
    ];
    const fail = (why) => {
      socket.destroy();
      reject(new Error(why));
    };
    socket.setTimeout(30_000, () => fail("probe: timeout"));
    socket.on("error", (err) => fail(`probe: ${err.message}`));
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        const end = buffer.indexOf("\r\n");
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (line[3] === "-") continue;
        const now = performance.now();
        const code = Number(line.slice(0, 3));
        // replies to: banner, HELO, MAIL, RCPT, DATA, dot, QUIT
        const expected = [220, 250, 250, 250, 354, 250, 221][step];
        if (code !== expected) return fail(`probe: expected ${expected}, got "${line}"`);
        if (step === 3) waits.rcpt = now - sentAt;
        if (step === 5) {
          waits.dot = now - sentAt;
          resolve({ total: now - t0, ...waits });
        }
        if (step === 6) {
          socket.end();
          return;
        }
        const next = script[step]();
        step += 1;
        sentAt = performance.now();
        socket.write(next);
      }
    });
  });
}

function messageBody(size) {
  const head = "From: <sender@bench.test>\r\nTo: <rcpt@bench.test>\r\nSubject: probe\r\nMessage-Id: <probe@bench.test>\r\n\r\n";
  const line = "X".repeat(78) + "\r\n";
  let text = head;
  while (text.length < size) text += line;
  return Buffer.from(`${text}.\r\n`, "latin1");
}

/** Starts probing; stop() resolves with the samples (ms) and the number of messages sent. */
export function startProbe(port, size, { pauseMs = 10 } = {}) {
  const body = messageBody(size);
  const samples = [];
  let running = true;
  let errors = 0;
  const loop = (async () => {
    while (running) {
      try {
        samples.push(await session(port, body));
      } catch {
        errors += 1;
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { samples, errors };
    },
  };
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
