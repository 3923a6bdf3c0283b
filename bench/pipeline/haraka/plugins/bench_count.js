// bench/pipeline's Haraka reference: proof that the bench compares like with like. Counts, per
// process, the messages that went through DATA and were answered 250 by the queue hook
// (queue/discard: queue_ok runs only after the queue hook returned OK) and their DATA bytes,
// and marks each process ready once it listens. Written to files under HARAKA_BENCH_STATE
// (one per pid: cluster workers each count their own; *.tmp then renamed) at most every 100 ms, so the hot path
// costs two additions; ../haraka.mjs sums them.
const fs = require("node:fs");
const path = require("node:path");

const dir = process.env.HARAKA_BENCH_STATE;
let messages = 0;
let bytes = 0;
let timer;

function flush() {
  timer = undefined;
  if (!dir) return;
  // write then rename: a reader never sees a half-written file
  const file = path.join(dir, `count-${process.pid}.json`);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ messages, bytes }));
  fs.renameSync(`${file}.tmp`, file);
}

function ready(next) {
  if (dir) fs.writeFileSync(path.join(dir, `ready-${process.pid}`), "");
  flush();
  next();
}

exports.register = function () {
  this.register_hook("init_master", "ready");
  this.register_hook("init_child", "ready");
  this.register_hook("queue_ok", "count");
  process.on("exit", () => {
    if (timer) flush();
  });
};

exports.ready = ready;

exports.count = function (next, connection) {
  messages += 1;
  bytes += connection.transaction ? connection.transaction.data_bytes : 0;
  if (!timer) {
    timer = setTimeout(flush, 100);
    timer.unref();
  }
  next();
};
